#!/bin/bash
# Sealed static keys -> AssumeRole with an ExternalId against moto, served
# over ~/.aws: both AWS CLIs and boto3 get the assumed role from the mount
# alone, the role's policy is enforced on them, status shows the session.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
aws_init aws-assume-role "$@"

AWS1=$(command -v aws || true)
AWS2=/usr/bin/aws
[ -n "$AWS1" ] || skip "no aws (AWS CLI v1) on PATH"
[ -x "$AWS2" ] || skip "no /usr/bin/aws (AWS CLI v2)"

moto_start
write_aws_config
store_base
mount_aws

ROLE_PREFIX="arn:aws:sts::$ACCOUNT:assumed-role/prod/credfs-prod"

check "the credentials file holds prod and default, nothing else"
creds=$(cat "$MNT/credentials") || fail "cannot read $MNT/credentials"
assert_contains "$creds" "[prod]" "credentials has [prod]"
assert_contains "$creds" "[default]" "credentials has [default]"
assert_not_contains "$creds" "left out" "no profile left out"
assert_not_contains "$creds" "$BASE_SK" "the source secret is not served"
ak=$(ini_get "$MNT/credentials" prod aws_access_key_id)
assert_match "$ak" '^ASIA' "prod is an STS session key ($ak)"

check "process/prod.json is credential_process JSON for the same session"
proc=$(cat "$MNT/process/prod.json")
"$PY" -c 'import json,sys
j = json.loads(sys.argv[1])
assert j["Version"] == 1, j
assert j["AccessKeyId"] == sys.argv[2], (j["AccessKeyId"], sys.argv[2])
assert j["SessionToken"] and j["SecretAccessKey"] and j["Expiration"]' \
	"$proc" "$ak" || fail "process/prod.json: $proc"
pass "process/prod.json has Version 1, the same AccessKeyId, a token and an Expiration"

for cli in "$AWS1" "$AWS2"; do
	ver=$("$cli" --version 2>&1 | cut -d' ' -f1)
	check "$ver ($cli) with only the mount"
	out=$("$cli" sts get-caller-identity --profile prod \
		--endpoint-url "$MOTO_URL" --output json 2>&1) ||
		fail "$ver: get-caller-identity --profile prod failed: $out"
	arn=$(json_get "$out" 'j["Arn"]')
	assert_contains "$arn" "$ROLE_PREFIX" "$ver: get-caller-identity is the assumed role ($arn)"
	out=$("$cli" sts get-caller-identity --endpoint-url "$MOTO_URL" \
		--output json 2>&1) || fail "$ver: default profile failed: $out"
	assert_contains "$(json_get "$out" 'j["Arn"]')" "$ROLE_PREFIX" "$ver: default=prod is the assumed role too"
	assert_fails_with 'AccessDenied' "$ver: iam list-users is denied by the role's policy" -- \
		"$cli" iam list-users --profile prod --endpoint-url "$MOTO_URL"
done

check "boto3 (its own credential chain, shared credentials file via HOME)"
out=$("$PY" - "$MOTO_URL" <<'EOF' 2>&1
import sys, boto3, botocore.exceptions
url = sys.argv[1]
s = boto3.Session(profile_name="prod")
print(s.get_credentials().method)
print(s.client("sts", endpoint_url=url).get_caller_identity()["Arn"])
try:
    s.client("iam", endpoint_url=url).list_users()
    print("list_users allowed")
except botocore.exceptions.ClientError as e:
    print(e.response["Error"]["Code"])
EOF
) || fail "boto3 failed: $out"
assert_eq "$(sed -n 1p <<<"$out")" "shared-credentials-file" "boto3 took the keys from the shared credentials file"
assert_contains "$(sed -n 2p <<<"$out")" "$ROLE_PREFIX" "boto3 get_caller_identity is the assumed role"
assert_eq "$(sed -n 3p <<<"$out")" "AccessDenied" "boto3 iam list_users is denied"

check "the role's session is not the source user"
who=$(KEY_AK="$BASE_AK" KEY_SK="$BASE_SK" "$PY" "$MOTOCTL" whoami "$MOTO_URL")
assert_eq "$who" "arn:aws:iam::$ACCOUNT:user/base" "the sealed base key is user/base"

check "credfs status shows prod fresh with an expiry"
p=$(profile_json prod)
assert_eq "$(json_get "$p" 'j.get("state")')" "fresh" "prod is fresh"
exp=$(json_get "$p" 'j.get("expires")')
assert_match "$exp" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T' "prod has an expiry ($exp)"
"$PY" -c 'import sys, datetime as d
e = d.datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00"))
left = (e - d.datetime.now(d.timezone.utc)).total_seconds()
assert 3000 < left <= 3600, left' "$exp" || fail "expiry $exp is not ~1h ahead"
pass "the expiry is about an hour ahead (duration = 1h)"
st=$("$CREDFS" -c "$CFG" status 2>&1) || fail "credfs status failed: $st"
assert_match "$st" "prod +aws-assume-role +fresh +in (5[0-9]m|1h) " "credfs status (text) lists prod fresh, expiring in about an hour"
assert_not_contains "$st$(status_json)" "$(ini_get "$MNT/credentials" prod aws_secret_access_key)" "status shows no secret"

check "credfs exec: one command with the session in its environment"
out=$(env -u AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
	"$CREDFS" -c "$CFG" exec prod -- "$AWS1" sts get-caller-identity \
	--endpoint-url "$MOTO_URL" --output json 2>&1) ||
	fail "credfs exec prod -- aws sts get-caller-identity failed: $out"
assert_contains "$(json_get "$out" 'j["Arn"]')" "$ROLE_PREFIX" "credfs exec: the command runs as the assumed role"
envout=$("$CREDFS" -c "$CFG" exec prod -- env)
assert_contains "$envout" "AWS_ACCESS_KEY_ID=$(ini_get "$MNT/credentials" prod aws_access_key_id)" "AWS_ACCESS_KEY_ID is the served session's"
assert_match "$envout" "AWS_CREDENTIAL_EXPIRATION=20[0-9]{2}-" "AWS_CREDENTIAL_EXPIRATION is set"
assert_contains "$envout" "CREDFS_PROFILE=prod" "CREDFS_PROFILE is set"
grep -q '"event":"exec","profile":"prod"' "$T/state/audit.log" ||
	fail "no exec event in the audit log"
pass "the exec is audited with the profile and key id"
assert_fails_with "no such profile" "credfs exec of an unknown profile says so" -- \
	"$CREDFS" -c "$CFG" exec nosuch -- true

umount_credfs "$MNT"
say "all checks passed"
