#!/bin/bash
# A failing, lying or hanging credential_process helper is reported
# clearly, costs readers at most open_timeout, and never stops the daemon
# serving everything else.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init exec_errors "$@"

PAST=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
FUT=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
h() { # NAME BODY: a helper script
	printf '#!/bin/sh\n%s\n' "$2" >"$T/$1.sh"
	chmod 755 "$T/$1.sh"
}
h fail3 'echo "boom: upstream said no" >&2; echo "second line" >&2; exit 3'
h garbage 'echo "this is not json at all"'
h v2 "echo '{\"Version\": 2, \"AccessKeyId\": \"ASIAV2\", \"SecretAccessKey\": \"s\", \"Expiration\": \"$FUT\"}'"
h past "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIAPAST\", \"SecretAccessKey\": \"s\", \"SessionToken\": \"t\", \"Expiration\": \"$PAST\"}'"
h nokey "echo '{\"Version\": 1, \"SecretAccessKey\": \"s\", \"SessionToken\": \"t\", \"Expiration\": \"$FUT\"}'"
h slow 'sleep 30; echo "{}"'
profiles=""
for p in fail3 garbage v2 past nokey slow; do
	profiles="$profiles
[profile $p]
provider = exec
command = $T/$p.sh
"
done
# the slow helper's own timeout (5s) outlasts open_timeout (2s)
profiles="$profiles
timeout = 5s
"
write_config "open_timeout_placeholder
$profiles
[profile slow2]
provider = exec
command = $T/slow.sh
timeout = 4s

[profile slowa]
provider = exec
command = $T/slow.sh
timeout = 5s

[profile slowb]
provider = exec
command = $T/slow.sh
timeout = 5s

[profile slowd]
provider = exec
command = $T/slow.sh
timeout = 5s

[file creds-slow-diag]
format = aws-credentials
profiles = prod slowd

[file creds-slow-two]
format = aws-credentials
profiles = prod slowa slowb

[file creds-errors]
format = aws-credentials
profiles = prod fail3 garbage v2 past nokey

[file creds-slow]
format = aws-credentials
profiles = prod slow

[file process/fail3.json]
format = aws-process
profiles = fail3

[file process/slow.json]
format = aws-process
profiles = slow2"
# open_timeout belongs in [credfs]
sed -i '/^open_timeout_placeholder$/d; s/^\[credfs\]$/[credfs]\nopen_timeout = 2s/' "$CFG"
out=$("$CREDFS" -c "$CFG" check 2>&1) || fail "test config does not check: $out"
mount_credfs

ms() { date +%s%3N; }

check "the credentials file leaves each broken profile out with its reason"
t0=$(ms)
text=$(cat "$MNT/creds-errors") || fail "creds-errors cannot be read"
t1=$(ms)
say "creds-errors read in $((t1 - t0)) ms"
assert_contains "$text" "aws_access_key_id = $PROD_AK" "the good profile is served"
"$PY" - "$MNT/creds-errors" <<'EOF' || fail "creds-errors sections"
import sys
from botocore.configloader import raw_config_parse
got = raw_config_parse(sys.argv[1])
assert sorted(got) == ["prod"], got
EOF
pass "botocore sees only [prod]"
assert_match "$text" "# profile fail3 left out: command exited with status 3: boom: upstream said no" "fail3: exit status and stderr"
assert_not_contains "$text" "second line" "only the first line of stderr"
assert_match "$text" "# profile garbage left out: .*not a JSON object" "garbage: not JSON"
assert_match "$text" "# profile v2 left out: .*Version must be 1" "v2: Version must be 1"
assert_match "$text" "# profile past left out: .*expired" "past: expired credential"
assert_match "$text" "# profile nokey left out: .*(AccessKeyId|access key)" "nokey: no access key"

check "status shows each error"
st=$(status_json)
err_of() { json_get "$st" "[p['last_error'] for p in j['profiles'] if p['profile'] == '$1'][0]"; }
state_of() { json_get "$st" "[p['state'] for p in j['profiles'] if p['profile'] == '$1'][0]"; }
assert_eq "$(err_of fail3)" "command exited with status 3: boom: upstream said no" "status: fail3 last_error"
assert_eq "$(state_of fail3)" failed "status: fail3 state failed"
assert_contains "$(err_of garbage)" "not a JSON object" "status: garbage last_error"
assert_contains "$(err_of v2)" "Version must be 1" "status: v2 last_error"
assert_contains "$(err_of past)" "expired" "status: past last_error"
assert_eq "$(state_of prod)" fresh "status: prod is fresh"
assert_contains "$("$CREDFS" -c "$CFG" status)" "command exited with status 3: boom: upstream said no" "plain status shows the message"
set +e
out=$("$CREDFS" -c "$CFG" refresh fail3 2>&1)
rc=$?
set -e
assert_eq "$rc" 1 "credfs refresh fail3 exits 1"
assert_match "$out" "^credfs: fail3: .*status 3: boom: upstream said no" "refresh names the profile and the cause: '$out'"
assert_eq "$(errno_of "os.open('$MNT/process/fail3.json', os.O_RDONLY)")" EIO "a single-profile file of a failed profile: EIO"

check "a helper slower than open_timeout (2s)"
# where one reader's time goes (printed, not judged): stat, open, fstat
"$PY" - "$MNT/creds-slow-diag" <<'EOF' || true
import os, sys, time
p = sys.argv[1]
t = time.monotonic()
os.stat(p); t1 = time.monotonic()
fd = os.open(p, os.O_RDONLY); t2 = time.monotonic()
os.fstat(fd); t3 = time.monotonic()
os.read(fd, 65536); os.close(fd); t4 = time.monotonic()
print("exec_errors: creds-slow-diag: stat %d ms, open %d ms, fstat %d ms, read %d ms"
      % tuple(int(1000 * x) for x in (t1 - t, t2 - t1, t3 - t2, t4 - t3)))
EOF
t0=$(ms)
text=$(cat "$MNT/creds-slow") || fail "creds-slow cannot be read"
t1=$(ms)
el=$((t1 - t0))
say "cat creds-slow took $el ms"
[ "$el" -ge 1500 ] || fail "returned after $el ms: did it wait for the helper at all?"
[ "$el" -le 3500 ] || fail "a slow helper held the reader (cat) $el ms; open_timeout is 2s"
pass "the read returned in $el ms (within ~2-3 s)"
assert_contains "$text" "aws_access_key_id = $PROD_AK" "the good profile is served"
assert_match "$text" "# profile slow left out: .*(still running|timed out)" "the slow profile is left out with the reason"
t0=$(ms)
text=$(cat "$MNT/creds-slow-two") || fail "creds-slow-two cannot be read"
t1=$(ms)
el=$((t1 - t0))
say "creds-slow-two (two slow profiles) read in $el ms"
[ "$el" -le 3500 ] || fail "two slow profiles held the reader $el ms (open_timeout is 2s, not per profile)"
pass "two slow profiles cost one open_timeout ($el ms)"
assert_match "$text" "# profile slowa left out: " "slowa left out"
assert_match "$text" "# profile slowb left out: " "slowb left out"
check "the daemon keeps serving while the helper still runs"
t0=$(ms)
assert_contains "$(cat "$MNT/process/prod.json")" "$PROD_AK" "process/prod.json served"
assert_contains "$(cat "$MNT/config" 2>&1 || true)" "No such file" "passthrough answers"
assert_contains "$(status_json)" '"refreshing"' "status answers, slow is refreshing"
t1=$(ms)
[ $((t1 - t0)) -le 1500 ] || fail "other files took $((t1 - t0)) ms"
pass "other files answered in $((t1 - t0)) ms"
# Timed inside the reader, around open(2) alone: an interpreter's start-up
# on a loaded machine is not the daemon's time.
out=$("$PY" - "$MNT/process/slow.json" <<'EOF'
import errno, os, sys, time
t = time.monotonic()
try:
    os.close(os.open(sys.argv[1], os.O_RDONLY))
    e = "OK"
except OSError as x:
    e = errno.errorcode.get(x.errno, str(x.errno))
print(e, int((time.monotonic() - t) * 1000))
EOF
)
errno=${out% *} took=${out#* }
assert_eq "$errno" EIO "single-profile file of a slow helper: EIO"
[ "$took" -le 3500 ] || fail "process/slow.json open took $took ms"
pass "process/slow.json gave up in $took ms"

check "a failing refresh never costs a credential that is still valid"
cp "$T/helper.sh" "$T/helper.good"
h helper 'echo "sts down" >&2; exit 1'
set +e
out=$("$CREDFS" -c "$CFG" refresh prod 2>&1)
rc=$?
set -e
assert_eq "$rc" 1 "credfs refresh prod fails while the helper fails"
assert_contains "$out" "sts down" "refresh says why: '$out'"
assert_contains "$(cat "$MNT/credentials")" "aws_access_key_id = $PROD_AK" "the still-valid prod credential is served"
st=$(status_json)
assert_contains "$(err_of prod)" "sts down" "status shows prod's last error"
assert_match "$(state_of prod)" '^(fresh|stale)$' "prod is still $(state_of prod), not failed"
cp "$T/helper.good" "$T/helper.sh"

check "a helper whose output lacks AccessKeyId is an error, not a fresh credential"
st=$(status_json)
assert_contains "$(err_of nokey)" "AccessKeyId" "status: nokey last_error names AccessKeyId"
assert_eq "$(state_of nokey)" failed "status: nokey state failed (not $(state_of nokey))"

umount_credfs
say "all passed"
