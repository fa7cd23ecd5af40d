#!/bin/bash
# `credfs exec PROFILE -- CMD` without a mount: the credential comes from
# the provider once, then from the sealed cache; the command gets it in its
# environment and nothing else; every exec is audited.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init exec_local "$@"

write_config
# count the provider's calls
mv "$T/helper.sh" "$T/helper-real.sh"
printf '#!/bin/sh\necho call >>"%s/calls"\nexec "%s/helper-real.sh"\n' "$T" "$T" >"$T/helper.sh"
chmod 755 "$T/helper.sh"

check "exec with no daemon running"
out=$(env AWS_PROFILE=other "$CREDFS" -c "$CFG" exec prod -- env)
assert_contains "$out" "AWS_ACCESS_KEY_ID=$PROD_AK" "AWS_ACCESS_KEY_ID"
assert_contains "$out" "AWS_SECRET_ACCESS_KEY=$PROD_SK" "AWS_SECRET_ACCESS_KEY"
assert_contains "$out" "AWS_SESSION_TOKEN=TOKEN-$PROD_AK" "AWS_SESSION_TOKEN"
assert_match "$out" "AWS_CREDENTIAL_EXPIRATION=20[0-9]{2}-" "AWS_CREDENTIAL_EXPIRATION"
assert_not_contains "$out" "AWS_PROFILE=" "AWS_PROFILE is removed so nothing overrides the keys"
assert_eq "$(wc -l <"$T/calls")" 1 "one provider call"

check "a second exec is served from the sealed cache"
"$CREDFS" -c "$CFG" exec prod -- true
assert_eq "$(wc -l <"$T/calls")" 1 "still one provider call"
assert_eq "$(grep -c '"event":"exec","profile":"prod"' "$T/state/audit.log")" 2 "two exec events"
"$CREDFS" -c "$CFG" audit verify >/dev/null || fail "the audit chain does not verify"
assert_not_contains "$(cat "$T/state/audit.log")" "$PROD_SK" "no secret in the audit log"

check "the command's exit status is exec's"
set +e
"$CREDFS" -c "$CFG" exec prod -- sh -c 'exit 7'
rc=$?
set -e
assert_eq "$rc" 7 "exit status passed through"
assert_fails_with "no such profile" "an unknown profile is refused" -- \
	"$CREDFS" -c "$CFG" exec nosuch -- true
assert_fails_with "usage: credfs exec" "no command is a usage error" -- \
	"$CREDFS" -c "$CFG" exec prod --
say "all passed"
