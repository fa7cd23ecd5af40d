#!/bin/bash
# AWS refusals reach the user intact and hurt nothing else: a wrong
# ExternalId, a role the source may not assume, a source key deleted in IAM.
# Each profile is left out of the credentials file with the AWS error,
# `credfs status` shows the code, and the same daemon keeps serving prod.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
aws_init aws-failures "$@"
need_cmd aws

moto_start
write_aws_config "
[profile badext]
provider = aws-assume-role
source = base
role_arn = $ROLE_ARN
external_id = not-the-external-id
session_name = credfs-badext
endpoint = $MOTO_URL

[profile norole]
provider = aws-assume-role
source = base
role_arn = $OTHER_ROLE_ARN
external_id = $EXTERNAL_ID
session_name = credfs-norole
endpoint = $MOTO_URL

[profile doomed]
provider = aws-static
secret = aws-doomed
endpoint = $MOTO_URL

[profile gone]
provider = aws-assume-role
source = doomed
role_arn = $ROLE_ARN
external_id = $EXTERNAL_ID
session_name = credfs-gone
endpoint = $MOTO_URL

[file all]
format = aws-credentials
profiles = prod badext norole gone

[file process/badext.json]
format = aws-process
profiles = badext"
store_base
store_put aws-doomed "$DOOMED_AK" "$DOOMED_SK"

check "the doomed key works, then an admin deletes it before the first read"
who=$(KEY_AK="$DOOMED_AK" KEY_SK="$DOOMED_SK" "$PY" "$MOTOCTL" whoami "$MOTO_URL")
assert_eq "$who" "arn:aws:iam::$ACCOUNT:user/doomed" "doomed key signs before deletion"
"$PY" "$MOTOCTL" delete-key "$MOTO_URL" doomed "$DOOMED_AK"
assert_eq "$("$PY" "$MOTOCTL" keys "$MOTO_URL" doomed)" "" "doomed has no key left in IAM"

mount_aws
before=$("$PY" "$MOTOCTL" count "$MOTO_URL" AssumeRole)

all=$(cat "$MNT/all") || fail "cannot read $MNT/all"
say "generated file:"
grep '^#' <<<"$all" | sed 's/^/    /'
assert_contains "$all" "[prod]" "prod is served next to the failures"
assert_eq "$(ini_get "$MNT/all" prod aws_access_key_id | cut -c1-4)" "ASIA" "prod has a session key"
for p in badext norole gone; do
	if grep -q "^\[$p\]" <<<"$all"; then
		fail "$p has a section although it failed"
	fi
done
pass "no section for badext, norole, gone"
line=$(grep "^# profile badext left out: " <<<"$all") || fail "no comment for badext"
assert_match "$line" '^# profile badext left out: AssumeRole: AccessDenied: .+' "badext: AssumeRole: AccessDenied with moto's message"
line=$(grep "^# profile norole left out: " <<<"$all") || fail "no comment for norole"
# moto's message does not name the role (AWS's does)
assert_match "$line" '^# profile norole left out: AssumeRole: AccessDenied: .+' "norole: AssumeRole: AccessDenied"
line=$(grep "^# profile gone left out: " <<<"$all") || fail "no comment for gone"
assert_match "$line" '^# profile gone left out: .*InvalidClientTokenId' "gone: the deleted source key is InvalidClientTokenId"

check "a single-profile file of a failing profile: the open fails, no bytes"
r=$(errno_of "open('$MNT/process/badext.json').read()")
[ "$r" != OK ] || fail "process/badext.json was served"
pass "process/badext.json open fails with $r"

check "credfs status names the AWS error code per profile"
for p in badext:AccessDenied norole:AccessDenied gone:InvalidClientTokenId; do
	j=$(profile_json "${p%%:*}")
	assert_contains "$(json_get "$j" 'j.get("last_error")')" "${p#*:}" "status: ${p%%:*} last_error has ${p#*:}"
	assert_not_contains "$(json_get "$j" 'j.get("state")')" "fresh" "status: ${p%%:*} is not fresh"
done
st=$("$CREDFS" -c "$CFG" status)
assert_match "$st" 'badext .*AccessDenied' "text status shows badext's AccessDenied"
assert_match "$st" 'gone .*InvalidClientTokenId' "text status shows gone's InvalidClientTokenId"

check "errors are not retried in a loop; the daemon survives repeated reads"
n=$(($("$PY" "$MOTOCTL" count "$MOTO_URL" AssumeRole) - before))
[ "$n" -ge 4 ] || fail "AssumeRole calls so far: $n (want one each for prod badext norole gone)"
pass "AssumeRole reached moto for prod, badext, norole and gone ($n calls so far)"
before=$("$PY" "$MOTOCTL" count "$MOTO_URL" AssumeRole)
for _ in 1 2 3 4 5; do cat "$MNT/all" >/dev/null; done
n=$(($("$PY" "$MOTOCTL" count "$MOTO_URL" AssumeRole) - before))
# within a second: at most the one retry each failing profile's backoff
# allows, never one per read
[ "$n" -le 3 ] || fail "5 reads in a row cost $n AssumeRole calls (want <= 3)"
pass "5 reads in a row cost $n AssumeRole calls (<= 1 per failing profile)"
assert_daemon_alive "daemon after the failures"
out=$(AWS_MAX_ATTEMPTS=1 aws sts get-caller-identity --profile prod --endpoint-url "$MOTO_URL" --output text --query Arn 2>&1) ||
	fail "aws with prod after the failures: $out"
assert_contains "$out" "assumed-role/prod/credfs-prod" "prod still works for the AWS CLI"

check "the source secrets never show up"
no_secret_in "$BASE_SK" "$T/state/credfs.log" "$T/state/audit.log"
no_secret_in "$DOOMED_SK" "$T/state/credfs.log" "$T/state/audit.log"
assert_not_contains "$st$all" "$BASE_SK" "no source secret in status or the file"
pass "no source secret in credfs.log or the audit log"

umount_credfs "$MNT"
say "all checks passed"
