#!/bin/bash
# aws-web-identity over the mount: oauth2-mock-server (npm) issues a signed
# JWT, credfs exchanges it at moto (AssumeRoleWithWebIdentity, unsigned),
# the AWS CLIs get the web role from ~/.aws/credentials.  A new token in
# token_file is used by the next refresh; a missing one is reported.
#
# moto 5.2.1 answers an unsigned AssumeRoleWithWebIdentity with HTTP 500
# once auth is enforced, so this moto runs without auth enforcement
# (INITIAL_NO_AUTH_ACTION_COUNT=inf); it still answers GetCallerIdentity
# for the session keys it issued.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
aws_init aws-web-identity "$@"

command -v node >/dev/null 2>&1 || skip "node is not installed"
AWS1=$(command -v aws || true)
AWS2=/usr/bin/aws
[ -n "$AWS1" ] || skip "no aws (AWS CLI v1) on PATH"
[ -x "$AWS2" ] || skip "no /usr/bin/aws (AWS CLI v2)"

# oauth2-mock-server: ours, or the one tests/aws installed, or npm it in.
OAUTH_CLI=
for d in "$AWS_LIB_DIR" "$AWS_LIB_DIR/../aws"; do
	f=$d/node_modules/oauth2-mock-server/dist/oauth2-mock-server.mjs
	[ -f "$f" ] && OAUTH_CLI=$f && break
done
if [ -z "$OAUTH_CLI" ]; then
	command -v npm >/dev/null 2>&1 || skip "npm is not installed (for oauth2-mock-server)"
	out=$(npm install --no-save --no-audit --no-fund --prefix "$AWS_LIB_DIR" \
		oauth2-mock-server@8 2>&1) || skip "npm install oauth2-mock-server failed: ${out: -300}"
	OAUTH_CLI=$AWS_LIB_DIR/node_modules/oauth2-mock-server/dist/oauth2-mock-server.mjs
	[ -f "$OAUTH_CLI" ] || skip "oauth2-mock-server has no $OAUTH_CLI"
fi

moto_start noauth
export MOTO_RECORDING=$T/moto-web.jsonl
WEB_ROLE_ARN=$("$PY" "$MOTOCTL" webrole "$WEB_URL" | sed -n 's/^WEB_ROLE_ARN=//p')
[ -n "$WEB_ROLE_ARN" ] || fail "cannot create the web role in moto"

oport=$(free_port)
node "$OAUTH_CLI" -a 127.0.0.1 -p "$oport" >"$T/oauth2.log" 2>&1 &
opid=$!
disown "$opid"
_LIB_PIDS+=("$opid")
wait_port "$oport" "$opid" oauth2
OAUTH=http://127.0.0.1:$oport

issue_jwt() { # SUBJECT
	"$PY" - "$OAUTH" "$1" <<'EOF'
import json, sys, urllib.parse, urllib.request
data = urllib.parse.urlencode({"grant_type": "client_credentials",
                               "scope": "sts", "client_id": sys.argv[2]}).encode()
with urllib.request.urlopen(sys.argv[1] + "/token", data, timeout=10) as r:
    print(json.load(r)["access_token"])
EOF
}

# sent_tokens: the WebIdentityToken of every AssumeRoleWithWebIdentity
# moto recorded, and whether the request carried an Authorization header.
sent_tokens() {
	"$PY" - "$MOTO_RECORDING" <<'EOF'
import base64, json, sys, urllib.parse
for line in open(sys.argv[1]):
    e = json.loads(line)
    body = e.get("body") or ""
    if e.get("body_encoded"):
        body = base64.b64decode(body).decode()
    f = urllib.parse.parse_qs(body)
    if f.get("Action") == ["AssumeRoleWithWebIdentity"]:
        h = {k.lower() for k in e.get("headers", {})}
        print(f["WebIdentityToken"][0],
              "signed" if "authorization" in h else "unsigned")
EOF
}

jwt1=$(issue_jwt ci-runner) || fail "oauth2-mock-server issued no token"
assert_match "$jwt1" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "oauth2-mock-server issued a JWT"
printf '%s\n' "$jwt1" >"$T/token"
chmod 600 "$T/token"

cat >"$CFG" <<EOF
[credfs]
state_dir = $T/state
key = keyfile:$T/state/key
audit_log = $T/state/audit.log

[profile web]
provider = aws-web-identity
role_arn = $WEB_ROLE_ARN
token_file = $T/token
session_name = credfs-web
duration = 1h
endpoint = $WEB_URL

[profile lost]
provider = aws-web-identity
role_arn = $WEB_ROLE_ARN
token_file = $T/no-such-token
endpoint = $WEB_URL

[file credentials]
format = aws-credentials
profiles = web default=web lost
EOF
chmod 600 "$CFG"
out=$("$CREDFS" -c "$CFG" check 2>&1) || fail "credfs check: $out"
mount_aws

check "the mount serves the web identity session"
creds=$(cat "$MNT/credentials") || fail "cannot read credentials"
ak1=$(ini_get "$MNT/credentials" web aws_access_key_id)
assert_match "$ak1" '^ASIA' "web has a session key ($ak1)"
[ -n "$(ini_get "$MNT/credentials" web aws_session_token)" ] || fail "web has no session token"
pass "web has a session token"
assert_not_contains "$creds" "$jwt1" "the JWT itself is not served"
line=$(grep '^# profile lost left out: ' <<<"$creds") || fail "lost is not reported as left out"
assert_contains "$line" "$T/no-such-token" "lost: the comment names the missing token file"

check "what moto received: the issued token, unsigned"
sent=$(sent_tokens)
assert_eq "$sent" "$jwt1 unsigned" "one AssumeRoleWithWebIdentity with the issued JWT, no Authorization header"
"$PY" - "$OAUTH" "$jwt1" <<'EOF' || fail "the JWT does not verify against the issuer's JWKS"
import base64, json, sys, urllib.request
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
d = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
base, tok = sys.argv[1], sys.argv[2]
head, payload, sig = tok.split(".")
kid = json.loads(d(head)).get("kid")
keys = json.load(urllib.request.urlopen(base + "/jwks", timeout=10))["keys"]
k = [k for k in keys if k.get("kid") == kid][0]
pub = rsa.RSAPublicNumbers(int.from_bytes(d(k["e"]), "big"),
                           int.from_bytes(d(k["n"]), "big")).public_key()
pub.verify(d(sig), (head + "." + payload).encode(), padding.PKCS1v15(),
           hashes.SHA256())
EOF
pass "the JWT sent verifies against oauth2-mock-server's JWKS (RS256)"

for cli in "$AWS1" "$AWS2"; do
	ver=$("$cli" --version 2>&1 | cut -d' ' -f1)
	out=$("$cli" sts get-caller-identity --profile web --endpoint-url "$WEB_URL" \
		--query Arn --output text 2>&1) || fail "$ver: get-caller-identity: $out"
	assert_eq "$out" "arn:aws:sts::123456789012:assumed-role/web/credfs-web" "$ver: get-caller-identity is the web role"
done
out=$("$PY" -c 'import sys, boto3
print(boto3.Session().client("sts", endpoint_url=sys.argv[1]).get_caller_identity()["Arn"])' "$WEB_URL" 2>&1) ||
	fail "boto3 (default=web): $out"
assert_eq "$out" "arn:aws:sts::123456789012:assumed-role/web/credfs-web" "boto3 default profile is the web role"
st=$(json_get "$(profile_json web)" 'j.get("state")')
assert_eq "$st" "fresh" "status: web is fresh"

check "a new token in token_file: the next refresh sends it"
jwt2=$(issue_jwt other-subject)
[ "$jwt2" != "$jwt1" ] || fail "the issuer gave the same token twice"
printf '%s\n' "$jwt2" >"$T/token"
out=$("$CREDFS" -c "$CFG" refresh web 2>&1) || fail "credfs refresh web: $out"
ak2=$(ini_get "$MNT/credentials" web aws_access_key_id)
[ "$ak2" != "$ak1" ] || fail "refresh web served the same session"
assert_eq "$(sent_tokens | tail -n 1)" "$jwt2 unsigned" "the refresh sent the new JWT"
out=$(aws sts get-caller-identity --profile web --endpoint-url "$WEB_URL" --query Arn --output text 2>&1) ||
	fail "aws after the refresh: $out"
assert_contains "$out" "assumed-role/web/credfs-web" "the refreshed session works"

check "no token in the audit log or credfs.log"
no_secret_in "$jwt1" "$T/state/audit.log" "$T/state/credfs.log"
no_secret_in "$jwt2" "$T/state/audit.log" "$T/state/credfs.log"
pass "neither JWT appears in the audit log or credfs.log"
assert_daemon_alive
umount_credfs "$MNT"
say "all checks passed"
