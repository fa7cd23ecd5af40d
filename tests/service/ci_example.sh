#!/bin/bash
# examples/github-actions.yml: valid YAML with the permission the OIDC token
# needs, every `run:` script parses as bash, and the credfs config the job
# writes passes `credfs check` with $RUNNER_TEMP as the runner sets it.
#
#   ci_example.sh CREDFS SOURCE_ROOT
credfs=$(realpath "$1") root=$(realpath "$2")
wf=$root/examples/github-actions.yml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
t() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}
nm=${CREDFS_NODE_MODULES:-$(npm root -g 2>/dev/null)}
if ! command -v node >/dev/null || [ ! -d "$nm/js-yaml" ]; then
	msg="node or the npm package js-yaml is missing (npm install -g js-yaml@4.1.0)"
	echo "# $msg"
	if [ "$CI" = true ]; then echo "not ok 1 - $msg"; echo "1..1"; exit 1; fi
	echo "1..0 # SKIP $msg"
	exit 0
fi

# each run: script into $tmp/run-N.sh; the permissions and step names checked
node -e '
const yaml = require(process.argv[1] + "/js-yaml");
const fs = require("fs");
const wf = yaml.load(fs.readFileSync(process.argv[2], "utf8"));
let i = 0, ok = wf.permissions && wf.permissions["id-token"] === "write";
for (const job of Object.values(wf.jobs)) {
  ok = ok && Array.isArray(job.steps) && job["runs-on"];
  for (const s of job.steps)
    if (s.run) fs.writeFileSync(`${process.argv[3]}/run-${++i}.sh`, s.run);
}
process.exit(ok && i > 0 ? 0 : 1);
' "$nm" "$wf" "$tmp"
t $? "valid YAML: permissions id-token: write, jobs with steps"
bad=""
for s in "$tmp"/run-*.sh; do
	bash -n "$s" 2>"$tmp/err" || bad="$bad $(basename "$s"): $(head -1 "$tmp/err")"
done
[ -z "$bad" ]
t $? "every run: script parses as bash${bad:+ ($bad)}"

# the config the job writes, as the heredoc writes it
cfg_step=$(grep -l "credfs/config <<'EOF'" "$tmp"/run-*.sh)
sed -n "/credfs\/config <<'EOF'/,/^EOF\$/p" "$cfg_step" | sed '1d;$d' >"$tmp/config"
grep -q '^\[file credentials\]' "$tmp/config"
t $? "the job writes a credfs config with a credentials file"
mkdir -p "$tmp/runner"
out=$(RUNNER_TEMP=$tmp/runner "$credfs" -c "$tmp/config" check 2>&1)
t $? "credfs check accepts it ($out)"
grep -q 'credfs mount ~/.aws' "$cfg_step" && grep -q 'credfs umount ~/.aws' "$wf" &&
	grep -q 'credfs audit tail' "$wf"
t $? "the job mounts over ~/.aws, shows the audit trail and unmounts"
echo "1..$n"
exit $fail
