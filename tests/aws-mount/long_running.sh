#!/bin/bash
# One long-running boto3 process with `credential_process = cat
# ~/.aws/process/prod.json` survives the daemon replacing prod's session
# (`credfs refresh prod`, then `credfs revoke prod` and a read) and signs
# with each new AccessKeyId.
#
# How it refreshes: botocore wraps credential_process output in
# RefreshableCredentials and re-runs the command once fewer than 15 minutes
# (its advisory timeout) are left before Expiration.  With `duration = 15m`
# every session the mount serves is already inside that window, so botocore
# re-reads prod.json before each call and sees a new session as soon as the
# daemon has one.  With a 1h session it would only re-read 45 min in (a
# credentials file it never re-reads at all: no expiry in that format).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
aws_init aws-long-running "$@"

moto_start
DURATION=15m write_aws_config
store_base
MNT=$HOME/.aws
mkdir -p "$MNT"
cat >"$MNT/config" <<EOF
[default]
region = us-east-1

[profile longrun]
region = us-east-1
credential_process = cat $MNT/process/prod.json
EOF
mount_aws

mount_ak() { json_get "$(cat "$MNT/process/prod.json")" 'j["AccessKeyId"]'; }

# The client: one process for the whole test; a line on stdin = one call;
# it answers "PID ACCESS_KEY_USED ARN" or "PID ERROR ...".
cat >"$T/client.py" <<'EOF'
import os, sys, boto3, botocore.exceptions
url = sys.argv[1]
session = boto3.Session(profile_name="longrun")
sts = session.client("sts", endpoint_url=url)
creds = session.get_credentials()
for line in sys.stdin:
    try:
        arn = sts.get_caller_identity()["Arn"]
        used = creds.get_frozen_credentials().access_key
        print(os.getpid(), type(creds).__name__, used, arn, flush=True)
    except Exception as e:  # noqa: BLE001
        print(os.getpid(), "ERROR", repr(e)[:300], flush=True)
EOF
coproc CLIENT { exec "$PY" -u "$T/client.py" "$MOTO_URL"; }
_LIB_PIDS+=("$CLIENT_PID")
exec 3<&"${CLIENT[0]}" 4>&"${CLIENT[1]}"

call() {
	local line
	echo go >&4
	read -r -t 30 line <&3 || fail "the long-running client did not answer"
	echo "$line"
}

check "first call"
r=$(call)
say "client: $r"
read -r cpid kind used arn <<<"$r"
assert_eq "$kind" "RefreshableCredentials" "botocore holds refreshable credentials (credential_process)"
ak1=$(mount_ak)
assert_eq "$used" "$ak1" "the client signs with the mount's session"
assert_contains "$arn" "assumed-role/prod/credfs-prod" "get_caller_identity is the assumed role"
exp=$(json_get "$(cat "$MNT/process/prod.json")" 'j["Expiration"]')
say "session expires $exp (duration = 15m)"

check "credfs refresh prod: a new session; the same process picks it up"
out=$("$CREDFS" -c "$CFG" refresh prod 2>&1) || fail "credfs refresh prod: $out"
ak2=$(mount_ak)
[ "$ak2" != "$ak1" ] || fail "credfs refresh prod served the same session"
r=$(call)
say "client: $r"
read -r pid kind used arn <<<"$r"
assert_eq "$pid" "$cpid" "still the same client process"
assert_eq "$used" "$ak2" "the client now signs with the refreshed session"
assert_contains "$arn" "assumed-role/prod/" "and the call succeeds"

check "credfs revoke prod, a read: again a new session, again picked up"
out=$("$CREDFS" -c "$CFG" revoke prod 2>&1) || fail "credfs revoke prod: $out"
ak3=$(mount_ak)
[ "$ak3" != "$ak2" ] && [ "$ak3" != "$ak1" ] || fail "revoke did not lead to a new session"
r=$(call)
say "client: $r"
read -r pid kind used arn <<<"$r"
assert_eq "$pid" "$cpid" "still the same client process"
assert_eq "$used" "$ak3" "the client signs with the session fetched after the revoke"
assert_contains "$arn" "assumed-role/prod/" "and the call succeeds"

check "several calls in a row keep working"
for i in 1 2 3; do
	r=$(call)
	read -r pid kind used arn <<<"$r"
	assert_contains "$arn" "assumed-role/prod/" "call $i ok with $used"
done
kill -0 "$cpid" 2>/dev/null || fail "the client process died"
# EOF on its stdin ends the client: close our copy and the coproc's own
exec 4>&- 3<&-
eval "exec ${CLIENT[1]}>&- ${CLIENT[0]}<&-"
wait "$CLIENT_PID" 2>/dev/null || true
assert_daemon_alive
umount_credfs "$MNT"
say "all checks passed"
