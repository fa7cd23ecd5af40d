#!/bin/bash
# A provider command that reads the mount it serves (a credential_process
# helper that looks at ~/.aws/credentials, say) must not wait for its own
# fetch: it gets what is cached, at once, and the reader that started the
# fetch is served.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init self_read "$@"

cat >"$T/loop.sh" <<HELPER
#!/bin/sh
cat "$MNT/loop.json" >/dev/null 2>"$T/inner.err" || echo "inner read failed" >>"$T/inner.err"
exp=\$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
printf '{"Version": 1, "AccessKeyId": "ASIALOOP", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "%s"}\n' "\$exp"
HELPER
chmod 755 "$T/loop.sh"
write_config "
[profile loop]
provider = exec
command = $T/loop.sh

[file loop.json]
format = aws-process
profiles = loop
"
sed -i 's/^\[credfs\]$/[credfs]\nopen_timeout = 6s/' "$CFG"
mount_credfs

check "a reader whose fetch runs a helper that reads the same file"
start=$(date +%s%N)
out=$(cat "$MNT/loop.json")
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_contains "$out" '"AccessKeyId":"ASIALOOP"' "the outer reader is served"
[ "$ms" -lt 3000 ] || fail "took $ms ms: the helper waited for its own fetch"
pass "served in $ms ms (open_timeout 6 s)"
assert_contains "$(cat "$T/inner.err")" "inner read failed" "the helper's own read failed at once instead of waiting"
say "all passed"
