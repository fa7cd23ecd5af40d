#!/bin/bash
# `credfs rotate base` against moto: one active key afterwards, the new one,
# in the store and served by the running daemon (and by a fresh mount); the
# old key is gone; the rotation is audited without a secret.  Plus the
# refusals (not aws-static, not in the store) and the "both keys are
# active" path of a user who may not delete keys.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
aws_init aws-rotate "$@"
need_cmd aws

moto_start
write_aws_config "
[profile half]
provider = aws-static
secret = aws-half
endpoint = $MOTO_URL

[profile plain]
provider = aws-static
secret_file = $T/plain.keys

[file static]
format = aws-credentials
profiles = base"
printf 'access_key_id = AKIAPLAIN\nsecret_access_key = plainsecret\n' >"$T/plain.keys"
chmod 600 "$T/plain.keys"
store_base
store_put aws-half "$HALF_AK" "$HALF_SK"
mount_aws

OLD_AK=$BASE_AK
assert_eq "$(ini_get "$MNT/static" base aws_access_key_id)" "$OLD_AK" "before: the mount serves the original key"
prod_before=$(ini_get "$MNT/credentials" prod aws_access_key_id)

check "usage errors exit 2 with one line naming the profile"
set +e
out=$("$CREDFS" -c "$CFG" rotate prod 2>&1); rc=$?
set -e
assert_eq "$rc" 2 "rotate prod (aws-assume-role) exits 2"
assert_match "$out" '^credfs: rotate prod: provider is aws-assume-role; only an aws-static (or oidc-issuer )?profile' "rotate prod: $out"
set +e
out=$("$CREDFS" -c "$CFG" rotate plain 2>&1); rc=$?
set -e
assert_eq "$rc" 2 "rotate plain (secret_file) exits 2"
assert_contains "$out" "credfs: rotate plain: " "rotate plain names the profile: $out"
set +e
out=$("$CREDFS" -c "$CFG" rotate nosuch 2>&1); rc=$?
set -e
assert_eq "$rc" 2 "rotate nosuch exits 2"

check "credfs rotate base with the daemon running"
out=$("$CREDFS" -c "$CFG" rotate base 2>&1) || fail "credfs rotate base failed: $out"
say "rotate said:"
sed 's/^/    /' <<<"$out"
NEW_AK=$(sed -n 's/^rotated aws-base: [A-Z0-9]* -> \([A-Z0-9]*\) (old key deleted)$/\1/p' <<<"$out")
[ -n "$NEW_AK" ] || fail "no 'rotated aws-base: OLD -> NEW (old key deleted)' line"
assert_contains "$out" "rotated aws-base: $OLD_AK -> $NEW_AK (old key deleted)" "rotate names both key ids"
assert_contains "$out" "daemon: profile base now serves $NEW_AK" "rotate told the daemon"
assert_contains "$out" "sessions of prod stay valid" "rotate explains the dependent profile"

check "IAM: exactly one key, the new one, active"
keys=$("$PY" "$MOTOCTL" keys "$MOTO_URL" base)
assert_eq "$keys" "$NEW_AK Active" "list-access-keys (admin) shows only the new key"

check "the store and the mount hold the new key"
list=$("$CREDFS" -c "$CFG" store list 2>&1) || fail "store list: $list"
assert_contains "$list" "aws-base" "store list shows aws-base"
assert_eq "$(ini_get "$MNT/static" base aws_access_key_id)" "$NEW_AK" "the running daemon serves the new key"
NEW_SK=$(ini_get "$MNT/static" base aws_secret_access_key)
[ -n "$NEW_SK" ] && [ "$NEW_SK" != "$BASE_SK" ] || fail "no new secret in the mount"

check "the new key signs, the old does not"
assert_eq "$(KEY_AK="$NEW_AK" KEY_SK="$NEW_SK" "$PY" "$MOTOCTL" whoami "$MOTO_URL")" "arn:aws:iam::$ACCOUNT:user/base" "get-caller-identity with the new key"
assert_eq "$(KEY_AK="$OLD_AK" KEY_SK="$BASE_SK" "$PY" "$MOTOCTL" whoami "$MOTO_URL")" "InvalidClientTokenId" "the old key is refused"

check "prod: its session stays valid; its next refresh signs with the new key"
assert_eq "$(ini_get "$MNT/credentials" prod aws_access_key_id)" "$prod_before" "prod keeps its session"
out=$("$CREDFS" -c "$CFG" refresh prod 2>&1) || fail "credfs refresh prod after the rotation: $out"
prod_after=$(ini_get "$MNT/credentials" prod aws_access_key_id)
[ "$prod_after" != "$prod_before" ] || fail "refresh prod served the same session"
out=$(aws sts get-caller-identity --profile prod --endpoint-url "$MOTO_URL" --query Arn --output text 2>&1) ||
	fail "aws with the new prod session: $out"
assert_contains "$out" "assumed-role/prod/" "a new prod session (signed with the new key) works"

check "the audit log: a rotate event with both ids, the chain verifies"
ev=$("$PY" - "$T/state/audit.log" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    j = json.loads(line)
    if j.get("event") == "rotate":
        print(j.get("profile"), j.get("entry"), j.get("old_key_id"),
              j.get("new_key_id"), j.get("result"))
EOF
)
assert_eq "$ev" "base aws-base $OLD_AK $NEW_AK ok" "one rotate event: profile, entry, old and new key id, result"
out=$("$CREDFS" -c "$CFG" audit verify 2>&1) || fail "audit verify: $out"
pass "credfs audit verify: $out"

check "a fresh mount serves the new key (no daemon during the next rotation)"
umount_credfs "$MNT"
out=$("$CREDFS" -c "$CFG" rotate base 2>&1) || fail "second rotate (no daemon): $out"
assert_contains "$out" "no daemon is running" "rotate without a daemon says so"
NEWER_AK=$(sed -n 's/^rotated aws-base: [A-Z0-9]* -> \([A-Z0-9]*\) .*/\1/p' <<<"$out")
assert_eq "$("$PY" "$MOTOCTL" keys "$MOTO_URL" base)" "$NEWER_AK Active" "IAM holds only the newest key"
mount_credfs "$MNT"
DPID=$(daemon_pid)
assert_eq "$(ini_get "$MNT/static" base aws_access_key_id)" "$NEWER_AK" "a fresh mount serves the newest key"
NEWER_SK=$(ini_get "$MNT/static" base aws_secret_access_key)

check "a user who may not delete keys: both keys stay, the store has the new"
set +e
out=$("$CREDFS" -c "$CFG" rotate half 2>&1); rc=$?
set -e
assert_eq "$rc" 1 "rotate half exits 1"
say "rotate half said: $out"
keys=$("$PY" "$MOTOCTL" keys "$MOTO_URL" halfrot | sort)
assert_eq "$(wc -l <<<"$keys")" 2 "halfrot has two keys"
HALF_NEW=$(grep -v "$HALF_AK" <<<"$keys" | cut -d' ' -f1)
assert_contains "$out" "credfs: rotate half: DeleteAccessKey: AccessDenied" "the error names the call and the AWS code"
assert_contains "$out" "both keys are active; the store holds $HALF_NEW; delete $HALF_AK by hand: aws iam delete-access-key --access-key-id $HALF_AK" "the error says what to do"
hev=$(grep '"event":"rotate"' "$T/state/audit.log" | grep '"profile":"half"') || fail "no rotate event for half"
assert_contains "$hev" '"result":"old_key_not_deleted"' "audit: half's rotate result old_key_not_deleted"

check "no secret in the audit log, credfs.log, status"
st=$("$CREDFS" -c "$CFG" status; status_json)
for s in "$NEW_SK" "$NEWER_SK" "$BASE_SK"; do
	no_secret_in "$s" "$T/state/audit.log" "$T/state/credfs.log"
	assert_not_contains "$st" "$s" "status shows no secret"
done
pass "no old or new secret in the audit log or credfs.log"
out=$("$CREDFS" -c "$CFG" audit verify 2>&1) || fail "audit verify at the end: $out"
pass "audit verify at the end: $out"

umount_credfs "$MNT"
say "all checks passed"
