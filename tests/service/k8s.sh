#!/bin/bash
# examples/k8s: the DaemonSet and pod manifests are checked field by field
# against the Kubernetes API schema from npm packages (k8s_check.mjs), the
# check is shown to reject a misspelt field, a wrong enum value and a wrong
# type, the mount propagation is the one the recipe needs, and the credfs
# config in the ConfigMap passes `credfs check`.
#
#   k8s.sh CREDFS SOURCE_ROOT
# Packages: npm install -g kubernetes-models@5.1.0 @kubernetes/client-node@2.0.1
# js-yaml@4.1.0 (or CREDFS_NODE_MODULES=DIR where they are installed).
credfs=$(realpath "$1") root=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
k8s=$root/examples/k8s
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
t() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}
nm=${CREDFS_NODE_MODULES:-$(npm root -g 2>/dev/null)}
for p in kubernetes-models @kubernetes/client-node js-yaml; do
	if ! command -v node >/dev/null || [ ! -d "$nm/$p" ]; then
		msg="node or the npm package $p is missing (npm install -g kubernetes-models@5.1.0 @kubernetes/client-node@2.0.1 js-yaml@4.1.0)"
		echo "# $msg"
		if [ "$CI" = true ]; then echo "not ok 1 - $msg"; echo "1..1"; exit 1; fi
		echo "1..0 # SKIP $msg"
		exit 0
	fi
done

out=$(node "$here/k8s_check.mjs" "$nm" "$k8s"/*.yaml)
st=$?
echo "$out" | sed 's/^/#   /'
[ $st = 0 ] && [ "$(echo "$out" | grep -c '^ok ')" -ge 4 ]
t $? "every manifest in examples/k8s matches the Kubernetes API schema, field by field"

# the check rejects what it should
sed 's/mountPropagation:/mountPropogation:/' "$k8s/pod.yaml" >"$tmp/typo.yaml"
sed 's/HostToContainer/HostToContainr/' "$k8s/pod.yaml" >"$tmp/enum.yaml"
sed 's/readOnly: true/readOnly: "yes"/' "$k8s/pod.yaml" >"$tmp/type.yaml"
sed 's/^  containers:/  containerz:/' "$k8s/pod.yaml" >"$tmp/required.yaml"
out=$(node "$here/k8s_check.mjs" "$nm" --expect-fail "$tmp"/{typo,enum,type,required}.yaml)
st=$?
echo "$out" | sed 's/^/#   /'
[ $st = 0 ]
t $? "a misspelt field, a value outside an enum, a wrong type and a missing required field are each rejected"

# what the recipe relies on
node -e '
const yaml = require(process.argv[1] + "/js-yaml");
const fs = require("fs");
const docs = yaml.loadAll(fs.readFileSync(process.argv[2], "utf8"));
const ds = docs.find((d) => d && d.kind === "DaemonSet");
const cm = docs.find((d) => d && d.kind === "ConfigMap");
const pod = yaml.load(fs.readFileSync(process.argv[3], "utf8"));
const c = ds.spec.template.spec.containers[0];
const m = c.volumeMounts.find((v) => v.mountPath === "/run/credfs");
const pm = pod.spec.containers[0].volumeMounts[0];
const vol = pod.spec.volumes.find((v) => v.name === pm.name);
const ok = ds.spec.template.spec.hostPID === true && m &&
  m.mountPropagation === "Bidirectional" &&
  c.command.join(" ").includes("mount -f /run/credfs") &&
  pm.mountPropagation === "HostToContainer" && pm.readOnly === true &&
  vol.hostPath.path.startsWith("/run/credfs/");
fs.writeFileSync(process.argv[4], cm.data.config);
process.exit(ok ? 0 : 1);
' "$nm" "$k8s/credfs-daemonset.yaml" "$k8s/pod.yaml" "$tmp/config"
t $? "DaemonSet: hostPID, credfs mount -f, Bidirectional; pod: read-only, HostToContainer, a directory of the mount"
out=$("$credfs" -c "$tmp/config" check 2>&1)
t $? "the ConfigMap's credfs config passes credfs check ($out)"
grep -q 'passphrase_file *= */etc/credfs/secret/passphrase' "$tmp/config" &&
	grep -q 'mountPath: /etc/credfs/secret' "$k8s/credfs-daemonset.yaml" &&
	grep -q 'audit_log *= *syslog' "$tmp/config" && grep -q 'path: /dev/log' "$k8s/credfs-daemonset.yaml"
t $? "the passphrase comes from the Secret's mount, audit goes to the host's /dev/log"
echo "1..$n"
exit $fail
