#!/bin/bash
# Unmodified AWS tools read the generated files: the AWS CLI v1 (pip) and
# v2 (Debian), botocore's own parser, and credential_process = cat FILE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init awscli "$@"

AWS1=$(command -v aws || true)
AWS2=/usr/bin/aws
[ -n "$AWS1" ] || skip "no aws (AWS CLI v1) on PATH"
[ -x "$AWS2" ] || skip "no /usr/bin/aws (AWS CLI v2)"
"$PY" -c 'import botocore.configloader' 2>/dev/null || skip "python3 has no botocore"
[ "$(readlink -f "$AWS1")" != "$(readlink -f "$AWS2")" ] ||
	skip "aws on PATH is /usr/bin/aws: no separate v1 to test"

MNT=$HOME/.aws
mkdir -p "$MNT"
write_config
mount_credfs "$MNT"
# ~/.aws/config is a passthrough file
cat >"$MNT/config" <<EOF
[default]
region = us-east-1

[profile prod]
region = us-east-1

[profile viaproc]
region = us-east-1
credential_process = cat $MNT/process/prod.json
EOF
export AWS_SHARED_CREDENTIALS_FILE=$MNT/credentials
export AWS_CONFIG_FILE=$MNT/config

last4=${PROD_AK: -4}
for cli in "$AWS1" "$AWS2"; do
	ver=$("$cli" --version 2>&1 | cut -d' ' -f1)
	check "$ver ($cli): configure list / get --profile prod"
	out=$("$cli" configure list --profile prod 2>&1) ||
		fail "$ver: aws configure list failed: $out"
	assert_match "$out" "access_key +\*+$last4 +shared-credentials-file" "$ver: configure list shows the generated access key"
	assert_match "$out" "secret_key +\*+${PROD_SK: -4} +shared-credentials-file" "$ver: configure list shows the generated secret key"
	out=$("$cli" configure get aws_access_key_id --profile prod 2>&1) ||
		fail "$ver: aws configure get failed: $out"
	assert_eq "$out" "$PROD_AK" "$ver: configure get aws_access_key_id"
	out=$("$cli" configure get aws_secret_access_key --profile base 2>&1) ||
		fail "$ver: aws configure get (base) failed: $out"
	assert_eq "$out" "$BASE_SK" "$ver: configure get aws_secret_access_key --profile base"
	out=$("$cli" configure get aws_session_token --profile default 2>&1) ||
		fail "$ver: aws configure get (default) failed: $out"
	assert_eq "$out" "TOKEN-$PROD_AK" "$ver: configure get aws_session_token --profile default"

	check "$ver: credential_process = cat $MNT/process/prod.json"
	out=$("$cli" configure list --profile viaproc 2>&1) ||
		fail "$ver: aws configure list --profile viaproc failed: $out"
	assert_match "$out" "access_key +\*+$last4 +custom-process" "$ver: viaproc gets the key from the process file"
done

check "botocore.configloader.raw_config_parse reads exactly the expected sections"
"$PY" - "$MNT/credentials" "$PROD_AK" "$PROD_SK" "$BASE_AK" "$BASE_SK" <<'EOF' || fail "botocore parse differs"
import sys
from botocore.configloader import raw_config_parse
path, pak, psk, bak, bsk = sys.argv[1:]
got = raw_config_parse(path)
prod = {"aws_access_key_id": pak, "aws_secret_access_key": psk,
        "aws_session_token": "TOKEN-" + pak}
want = {"prod": prod, "default": dict(prod),
        "base": {"aws_access_key_id": bak, "aws_secret_access_key": bsk}}
if got != want:
    print("got ", got, "\nwant", want, file=sys.stderr)
    sys.exit(1)
EOF
pass "raw_config_parse == {prod, default, base} with exactly their keys"

check "boto3 session resolves the profile's credentials"
out=$("$PY" -c '
import boto3
c = boto3.Session(profile_name="viaproc").get_credentials().get_frozen_credentials()
print(c.access_key, c.token)' 2>&1) || fail "boto3 failed: $out"
assert_eq "$out" "$PROD_AK TOKEN-$PROD_AK" "boto3 with credential_process gets key and token"

umount_credfs "$MNT"
say "all passed"
