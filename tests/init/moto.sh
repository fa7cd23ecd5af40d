#!/bin/bash
# credfs init, end to end against moto: an AWS CLI setup (keys in
# ~/.aws/credentials, a role with an external id and a session name, both
# pointed at moto with endpoint_url) is resolved by the AWS CLI itself;
# then `credfs init`, `credfs store import-aws`, `credfs mount ~/.aws` and
# moving init's copy of ~/.aws/config in place, the commands init tells the
# user, with the plaintext credentials file gone; the same CLI then gets the same identities from the mount alone,
# and `aws configure list` shows each profile's key from the shared
# credentials file, in the same region.
#
#   moto.sh INIT_DRIVER CREDFS
set -euo pipefail
driver=$(realpath "$1")
shift
. "$(dirname "$0")/../aws-mount/lib.sh"
aws_init init-moto "$@"
AWS=$(command -v aws || true)
[ -n "$AWS" ] || skip "no aws CLI on PATH"

moto_start
mkdir -p "$HOME/.aws"
printf '[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$BASE_AK" "$BASE_SK" >"$HOME/.aws/credentials"
printf '%s\n' "[profile base]" "region = us-east-1" \
	"endpoint_url = $MOTO_URL" "" "[profile prod]" "role_arn = $ROLE_ARN" \
	"source_profile = base" "external_id = $EXTERNAL_ID" \
	"role_session_name = credfs-init" "region = us-east-1" \
	"endpoint_url = $MOTO_URL" "output = json" >"$HOME/.aws/config"

# identity PROFILE: the Arn the CLI resolves for it
identity() {
	local out
	out=$("$AWS" sts get-caller-identity --profile "$1" --output json 2>&1) ||
		fail "aws sts get-caller-identity --profile $1: $out"
	json_get "$out" 'j["Arn"]'
}
# listed PROFILE: "TYPE REGION" from aws configure list (where the key
# comes from, and the region)
listed() {
	"$AWS" configure list --profile "$1" | awk '
		$1 == "access_key" { k = $3 } $1 == "region" { r = $2 }
		END { print k, r }'
}

check "before: the AWS CLI resolves both profiles itself"
declare -A before_arn before_list
for p in base prod; do
	before_arn[$p]=$(identity "$p")
	before_list[$p]=$(listed "$p")
	say "$p: ${before_arn[$p]} (${before_list[$p]})"
done
assert_contains "${before_arn[prod]}" ":assumed-role/prod/credfs-init" "prod is the assumed role"

check "credfs init, then the commands it tells the user"
init_out=$("$driver" -o "$CFG" 2>&1) || fail "credfs init: $init_out"
printf '%s\n' "$init_out" | sed 's/^/  | /'
assert_contains "$init_out" "store import-aws ~/.aws/credentials" "init names the credentials file to import"
assert_contains "$init_out" "mount ~/.aws" "init names the mount"
# the test's state and key, not the user's defaults
sed -i "s#^state_dir .*#state_dir = $T/state#; s#^key .*#key = keyfile:$T/state/key#" "$CFG"
out=$("$CREDFS" -c "$CFG" check 2>&1) || fail "credfs check: $out"
assert_match "$(cat "$CFG")" "endpoint +=  *$MOTO_URL" "endpoint_url is carried to the STS profile"
out=$("$CREDFS" -c "$CFG" store import-aws "$HOME/.aws/credentials" 2>&1) ||
	fail "credfs store import-aws: $out"
assert_contains "$out" "imported aws-base" "the keys are sealed as aws-base"
rm "$HOME/.aws/credentials"
assert_contains "$init_out" "mv ~/.aws/config.credfs ~/.aws/config" "init says to move its copy of the AWS config in place"
! grep -q '^role_arn' "$HOME/.aws/config.credfs" && grep -q '^region' "$HOME/.aws/config.credfs"
pass "the copy has no role_arn left, the region stays"
mv "$HOME/.aws/config.credfs" "$HOME/.aws/config"
mount_aws

check "after: the same identities, from the mount alone"
for p in base prod; do
	arn=$(identity "$p")
	assert_eq "$arn" "${before_arn[$p]}" "$p resolves to the same identity"
	l=$(listed "$p")
	assert_eq "${l#* }" "${before_list[$p]#* }" "$p: aws configure list shows the same region"
	assert_eq "${l%% *}" shared-credentials-file "$p: its key now comes from the shared credentials file, the mount (was: ${before_list[$p]%% *})"
done
say "all passed"
