#!/bin/bash
# Every format as its consumer reads it: env sourced by sh, json parsed,
# token bytes exact, template substituted, aws-process for botocore; and a
# provider response cannot inject a line or a section.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init formats "$@"

EXP=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
QUOTE_SK="it's a 'quoted' \$(touch $T/pwned) \`touch $T/pwned\` \"secret\" \\ ;|&"
TOKEN_VALUE='ya29.tok-EN_value.0123456789'
# helpers print fixed JSON written here (json.dumps escapes exactly)
"$PY" - "$T" "$EXP" "$QUOTE_SK" "$TOKEN_VALUE" <<'EOF'
import json, sys
t, exp, quote_sk, tok = sys.argv[1:]
def put(name, obj):
    with open("%s/%s.json" % (t, name), "w") as f:
        json.dump(obj, f)
put("quote", {"Version": 1, "AccessKeyId": "ASIAQUOTE00000000001",
              "SecretAccessKey": quote_sk, "SessionToken": "tok'en",
              "Expiration": exp})
put("tok", {"access_token": tok, "token_type": "Bearer", "expiration": exp})
put("evil", {"Version": 1, "AccessKeyId": "ASIAEVIL000000000001",
             "SecretAccessKey": "s3cret\n[evil]\naws_access_key_id = X",
             "SessionToken": "t", "Expiration": exp})
EOF
cat >"$T/app.tpl" <<'EOF'
# app config with embedded secrets
[app]
key = {{ prod.access_key_id }}
secret={{prod.secret_access_key}}
token = {{ prod.session_token }}
expires = {{ prod.expiration }}
plain = no placeholders { here } {x}
EOF
printf 'key = {{ prod.no_such_field }}\n' >"$T/badfield.tpl"
printf 'key = {{ nobody.access_key_id }}\n' >"$T/badprof.tpl"
write_config "
[profile quote]
provider = exec
command = cat $T/quote.json

[profile tok]
provider = exec
command = cat $T/tok.json

[profile evil]
provider = exec
command = cat $T/evil.json

[file env/prod.sh]
format = env
profiles = prod

[file env/quote.sh]
format = env
profiles = quote

[file env/vars.sh]
format = env
profiles = tok
vars = TOKEN=access_token TOKEN_TYPE=token_type TOKEN_EXPIRES=expiration

[file prod.json]
format = json
profiles = prod

[file token]
format = token
profiles = tok

[file token-nl]
format = token
profiles = tok
newline = yes

[file session-token]
format = token
profiles = prod
field = session_token

[file app.conf]
format = template
template = $T/app.tpl
profiles = prod

[file badfield.conf]
format = template
template = $T/badfield.tpl
profiles = prod

[file badprof.conf]
format = template
template = $T/badprof.tpl
profiles = prod

[file process/quote.json]
format = aws-process
profiles = quote

[file process/evil.json]
format = aws-process
profiles = evil

[file evil.json]
format = json
profiles = evil

[file credentials-evil]
format = aws-credentials
profiles = prod evil base"
out=$("$CREDFS" -c "$CFG" check 2>&1) || fail "test config does not check: $out"
mount_credfs

check "env: sourced by sh gives the exact values"
got=$(sh -c '. "$1"; printf "%s|%s|%s|%s" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$AWS_CREDENTIAL_EXPIRATION"' sh "$MNT/env/prod.sh")
assert_eq "$got" "$PROD_AK|$PROD_SK|TOKEN-$PROD_AK|$(json_get "$(cat "$MNT/process/prod.json")" 'j["Expiration"]')" "env/prod.sh exports the AWS variables"
assert_match "$(cat "$MNT/env/prod.sh")" "^export AWS_ACCESS_KEY_ID='$PROD_AK'" "env lines are export NAME='value'"
got=$(sh -c '. "$1"; printf "%s" "$AWS_SECRET_ACCESS_KEY"' sh "$MNT/env/quote.sh")
assert_eq "$got" "$QUOTE_SK" "a secret with quotes, \$, backticks and spaces stays intact"
got=$(bash -c '. "$1"; printf "%s" "$AWS_SESSION_TOKEN"' bash "$MNT/env/quote.sh")
assert_eq "$got" "tok'en" "bash reads the same"
[ ! -e "$T/pwned" ] || fail "sourcing ran something"
got=$(sh -c '. "$1"; printf "%s|%s|%s" "$TOKEN" "$TOKEN_TYPE" "$TOKEN_EXPIRES"' sh "$MNT/env/vars.sh")
assert_eq "$got" "$TOKEN_VALUE|Bearer|$EXP" "env vars = NAME=field"

check "json: one object with the fields and expiration"
"$PY" - "$MNT/prod.json" "$PROD_AK" "$PROD_SK" <<'EOF' || fail "prod.json"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["access_key_id"] == sys.argv[2], j
assert j["secret_access_key"] == sys.argv[3], j
assert j["session_token"] == "TOKEN-" + sys.argv[2], j
assert j["expiration"].endswith("Z"), j
EOF
pass "prod.json parses with access_key_id, secret_access_key, session_token, expiration"

check "token: the bytes exactly"
assert_eq "$(od -An -c "$MNT/token" | tr -d ' \n')" "$(printf '%s' "$TOKEN_VALUE" | od -An -c | tr -d ' \n')" "token has no trailing newline"
assert_eq "$(stat -c %s "$MNT/token")" "${#TOKEN_VALUE}" "token st_size is the token length"
assert_eq "$(tail -c 1 "$MNT/token-nl" | od -An -c | tr -d ' ')" '\n' "newline = yes ends with a newline"
assert_eq "$(wc -c <"$MNT/token-nl")" "$((${#TOKEN_VALUE} + 1))" "newline = yes adds exactly one byte"
assert_eq "$(cat "$MNT/session-token")" "TOKEN-$PROD_AK" "field = session_token"

check "template: placeholders substituted"
expected=$(sed -e "s|{{ prod.access_key_id }}|$PROD_AK|" \
	-e "s|{{prod.secret_access_key}}|$PROD_SK|" \
	-e "s|{{ prod.session_token }}|TOKEN-$PROD_AK|" \
	-e "s|{{ prod.expiration }}|$(json_get "$(cat "$MNT/prod.json")" 'j["expiration"]')|" "$T/app.tpl")
assert_eq "$(cat "$MNT/app.conf")" "$expected" "app.conf is the template with the values"
assert_not_contains "$(cat "$MNT/app.conf")" "{{" "no placeholder left"
assert_eq "$(errno_of "os.open('$MNT/badfield.conf', os.O_RDONLY)")" EIO "unknown field placeholder: open fails with EIO"
assert_eq "$(errno_of "os.open('$MNT/badprof.conf', os.O_RDONLY)")" EIO "unknown profile placeholder: open fails with EIO"

check "aws-process: credential_process JSON"
"$PY" - "$MNT/process/prod.json" "$PROD_AK" "$PROD_SK" <<'EOF' || fail "process/prod.json"
import json, sys, datetime
j = json.loads(open(sys.argv[1]).read())
assert j["Version"] == 1 and isinstance(j["Version"], int), j
assert j["AccessKeyId"] == sys.argv[2] and j["SecretAccessKey"] == sys.argv[3], j
assert j["SessionToken"] == "TOKEN-" + sys.argv[2], j
e = datetime.datetime.strptime(j["Expiration"], "%Y-%m-%dT%H:%M:%SZ")
assert e > datetime.datetime.utcnow(), j
EOF
pass "Version 1, AccessKeyId, SecretAccessKey, SessionToken, future Expiration"
got=$(json_get "$(cat "$MNT/process/quote.json")" 'j["SecretAccessKey"]')
assert_eq "$got" "$QUOTE_SK" "quotes survive JSON escaping"

check "injection: a secret holding newlines and a section header"
text=$(cat "$MNT/credentials-evil")
assert_not_contains "$text" "[evil]" "no [evil] line anywhere in the file"
assert_not_contains "$text" "aws_access_key_id = X" "no injected key line"
assert_match "$text" '# profile evil left out: .*(control character|refused)' "a comment names the left-out profile and the reason"
"$PY" - "$MNT/credentials-evil" "$PROD_AK" "$BASE_AK" <<'EOF' || fail "credentials-evil does not parse as expected"
import sys
from botocore.configloader import raw_config_parse
got = raw_config_parse(sys.argv[1])
assert sorted(got) == ["base", "prod"], got
assert got["prod"]["aws_access_key_id"] == sys.argv[2], got
assert got["base"]["aws_access_key_id"] == sys.argv[3], got
EOF
pass "botocore sees exactly [prod] and [base]"
assert_eq "$(errno_of "os.open('$MNT/process/evil.json', os.O_RDONLY)")" EIO "process/evil.json fails to open with EIO"
assert_eq "$(errno_of "os.open('$MNT/evil.json', os.O_RDONLY)")" EIO "evil.json (json) fails to open with EIO"
assert_not_contains "$(cat "$T/state/audit.log")" "s3cret" "the secret is not in the audit log"
assert_not_contains "$(cat "$T/state/credfs.log" 2>/dev/null)" "s3cret" "the secret is not in the daemon log"
assert_not_contains "$("$CREDFS" -c "$CFG" status --json)" "s3cret" "the secret is not in status"

umount_credfs
say "all passed"
