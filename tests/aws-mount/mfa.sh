#!/bin/bash
# aws-session-token with mfa_serial over the mount: before `credfs login`
# the profile is left out with the command to run and nothing reaches AWS;
# `credfs login base-mfa` with the code on stdin (not a tty) gets a session
# from moto, which the mount then serves.
#
# The chain base-mfa -> mfa-prod (AssumeRole) cannot complete against moto
# 5.2.1: GetSessionToken answers with fixed AKIAIOSFODNN7EXAMPLE keys that
# moto itself does not recognise, so AssumeRole signed with them is
# InvalidClientTokenId.  Only the session profile itself is asserted served;
# the chained profile is asserted to fail with that code and to be reported.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
aws_init aws-mfa "$@"

moto_start
MFA_SERIAL=arn:aws:iam::$ACCOUNT:mfa/base
write_aws_config "
[profile base-mfa]
provider = aws-session-token
source = base
mfa_serial = $MFA_SERIAL
endpoint = $MOTO_URL

[profile mfa-prod]
provider = aws-assume-role
source = base-mfa
role_arn = $ROLE_ARN
external_id = $EXTERNAL_ID
session_name = credfs-mfa-prod
endpoint = $MOTO_URL

[file mfa]
format = aws-credentials
profiles = base-mfa mfa-prod"
store_base
mount_aws
gst() { "$PY" "$MOTOCTL" count "$MOTO_URL" GetSessionToken; }

check "before login: left out with the command to run; AWS not called"
f=$(cat "$MNT/mfa") || fail "cannot read $MNT/mfa"
line=$(grep '^# profile base-mfa left out: ' <<<"$f") || fail "base-mfa not reported: $f"
assert_contains "$line" 'GetSessionToken: needs an MFA code: run `credfs login base-mfa`' "base-mfa: needs an MFA code, run credfs login"
grep -q '^# profile mfa-prod left out: ' <<<"$f" || fail "mfa-prod not reported"
pass "mfa-prod (sourced from base-mfa) is left out too"
grep -q '^\[' <<<"$f" && fail "a section was served before login: $f"
pass "no section served"
assert_eq "$(gst)" 0 "no GetSessionToken reached moto"
assert_contains "$(json_get "$(profile_json base-mfa)" 'j.get("last_error")')" "credfs login base-mfa" "status: base-mfa's error says to log in"
assert_contains "$(cat "$MNT/credentials")" "[prod]" "other profiles are served meanwhile"

check "refusals of bad input (stdin, not a tty)"
set +e
out=$(echo 12ab56 | "$CREDFS" -c "$CFG" login base-mfa 2>&1); rc=$?
set -e
assert_eq "$rc" 2 "a code with letters exits 2"
assert_contains "$out" "digits only" "it says digits only: $out"
set +e
out=$("$CREDFS" -c "$CFG" login base-mfa 2>&1 </dev/null); rc=$?
set -e
assert_eq "$rc" 1 "no code on stdin exits 1"
assert_contains "$out" "no MFA code given" "it says no code given: $out"
assert_eq "$(gst)" 0 "still no GetSessionToken at moto"

check "echo CODE | credfs login base-mfa"
CODE=862419
out=$(echo "$CODE" | "$CREDFS" -c "$CFG" login base-mfa 2>&1) || fail "credfs login base-mfa: $out"
assert_eq "$out" "base-mfa: signed in" "login says signed in"
assert_eq "$(gst)" 1 "exactly one GetSessionToken reached moto"
sent=$("$PY" - "$MOTO_RECORDING" <<'EOF'
import base64, json, sys, urllib.parse
for line in open(sys.argv[1]):
    e = json.loads(line)
    b = e.get("body") or ""
    if e.get("body_encoded"):
        b = base64.b64decode(b).decode()
    f = urllib.parse.parse_qs(b)
    if f.get("Action") == ["GetSessionToken"]:
        print(f.get("SerialNumber", ["-"])[0], f.get("TokenCode", ["-"])[0])
EOF
)
assert_eq "$sent" "$MFA_SERIAL $CODE" "GetSessionToken carried the serial and the code"

check "after login: the session profile is served"
f=$(cat "$MNT/mfa")
ak=$(ini_get "$MNT/mfa" base-mfa aws_access_key_id)
[ -n "$ak" ] || fail "base-mfa has no section after login: $f"
pass "base-mfa is served ($ak)"
[ -n "$(ini_get "$MNT/mfa" base-mfa aws_session_token)" ] || fail "base-mfa has no session token"
pass "base-mfa has a session token"
assert_eq "$(json_get "$(profile_json base-mfa)" 'j.get("state")')" "fresh" "status: base-mfa is fresh"
assert_eq "$(gst)" 1 "serving it cost no further GetSessionToken"
# moto's fixed session keys cannot sign (see the top): the chained
# profile fails with moto's code and is reported, nothing crashes
# (forced now: its failure before the login is still in backoff)
set +e
out=$("$CREDFS" -c "$CFG" refresh mfa-prod 2>&1); rc=$?
set -e
assert_eq "$rc" 1 "credfs refresh mfa-prod fails"
assert_contains "$out" "InvalidClientTokenId" "refresh mfa-prod names moto's error: $out"
f=$(cat "$MNT/mfa")
line=$(grep '^# profile mfa-prod left out: ' <<<"$f") || fail "mfa-prod neither served nor reported: $f"
assert_contains "$line" "AssumeRole: InvalidClientTokenId" "mfa-prod: moto refuses its own GetSessionToken keys (known moto limit)"
assert_daemon_alive

check "the code and the secrets stay out of the logs"
no_secret_in "$CODE" "$T/state/audit.log" "$T/state/credfs.log"
no_secret_in "$BASE_SK" "$T/state/audit.log" "$T/state/credfs.log"
pass "no MFA code or source secret in the audit log or credfs.log"
umount_credfs "$MNT"
say "all checks passed"
