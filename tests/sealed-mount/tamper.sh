#!/bin/bash
# A sealed cache file that was bit-flipped, truncated, emptied, copied from
# another profile or replaced by an older copy is rejected, set aside,
# reported, and replaced by a fresh fetch; a corrupt store entry leaves its
# profile out with a reason while the rest is served.
set -euo pipefail
. "$(dirname "$0")/smlib.sh"
lib_init tamper "$@"

sm_helper "$T/helper.sh"
sm_config "" "prod dev base" "
[file credentials]
format = aws-credentials
profiles = prod dev base

[file process/prod.json]
format = aws-process
profiles = prod
"
C=$T/state/cache
BASE_SK_RAND=$(head -c 30 /dev/urandom | base64 -w0)
printf 'access_key_id=AKIATAMPERTEST000001\nsecret_access_key=%s\n' "$BASE_SK_RAND" |
	"$CREDFS" -c "$CFG" store add aws-base >/dev/null ||
	fail "credfs store add aws-base failed"

mount_credfs
cat "$MNT/credentials" >"$T/r0" || fail "first read failed"
[ -s "$C/prod.sealed" ] && [ -s "$C/dev.sealed" ] ||
	fail "no cache/prod.sealed or cache/dev.sealed after the first read"
assert_eq "$(aws_field "$T/r0" base aws_secret_access_key)" "$BASE_SK_RAND" "base served from the store"
umount_credfs

# one_case NAME: cache/prod.sealed was just damaged (daemon stopped); mount,
# read, and check a fresh credential, the set-aside file and the reports.
# STALE_AKS: key ids that must not be served.
one_case() {
	local name=$1 n0 d0 nbad0 nint0 ak pid out
	n0=$(calls prod)
	d0=$(calls dev)
	nbad0=$(bad_files | grep -c '/cache/prod\.sealed\.bad-' || true)
	nint0=$(audit_events integrity | grep -c 'cache/prod' || true)
	mount_credfs
	pid=$(daemon_pid)
	cat "$MNT/credentials" >"$T/r.$name" || fail "$name: reading credentials failed"
	assert_eq "$(calls prod)" $((n0 + 1)) "$name: exactly one new provider call for prod"
	ak=$(aws_field "$T/r.$name" prod aws_access_key_id)
	assert_eq "$ak" "$(last_ak prod)" "$name: prod is served with the fresh key"
	assert_eq "$(aws_field "$T/r.$name" prod aws_session_token)" "$(last_tok prod)" \
		"$name: prod is served with the fresh session token"
	for s in $STALE_AKS; do
		[ "$ak" != "$s" ] || fail "$name: the stale key $s was served"
	done
	pass "$name: none of the stale keys ($STALE_AKS) is served"
	assert_eq "$(calls dev)" "$d0" "$name: dev still comes from its intact cache (no call)"
	assert_eq "$(aws_field "$T/r.$name" dev aws_access_key_id)" "$(last_ak dev)" \
		"$name: dev served with its cached key"
	assert_eq "$(aws_field "$T/r.$name" base aws_access_key_id)" AKIATAMPERTEST000001 \
		"$name: base still served from the store"
	assert_eq "$(bad_files | grep -c '/cache/prod\.sealed\.bad-' || true)" $((nbad0 + 1)) \
		"$name: the bad cache/prod.sealed was set aside (one more *.bad-* file)"
	assert_eq "$(audit_events integrity | grep -c 'cache/prod' || true)" $((nint0 + 1)) \
		"$name: one more audit 'integrity' event naming cache/prod"
	out=$("$CREDFS" -c "$CFG" audit verify 2>&1) || fail "$name: audit verify: $out"
	pass "$name: audit chain verifies"
	out=$(grep -F 'prod' "$T/state/credfs.log" 2>/dev/null | grep -Ei 'integrity|authentication|replayed|set aside|truncat|empty' || true)
	st=$("$CREDFS" -c "$CFG" status 2>&1 || true)
	if [ -n "$out" ] || printf '%s' "$st" | grep -Eiq 'set aside|integrity|sealed cache'; then
		pass "$name: reported in credfs.log or status"
	else
		# checked last, so that the other cases still run
		say "MISSING $name: neither credfs.log nor 'credfs status' mention the rejected cache/prod.sealed"
		UNREPORTED="$UNREPORTED $name"
	fi
	[ -s "$C/prod.sealed" ] || fail "$name: no new cache/prod.sealed written after the fresh fetch"
	pass "$name: a new cache/prod.sealed was written"
	cat "$MNT/process/prod.json" >/dev/null || fail "$name: the daemon stopped serving"
	assert_eq "$(daemon_pid)" "$pid" "$name: the same daemon keeps serving"
	assert_eq "$(calls prod)" $((n0 + 1)) "$name: later reads use the new credential"
	umount_credfs
}

flip_middle() {
	"$PY" - "$1" <<'PYEOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x01
open(p, "wb").write(bytes(b))
PYEOF
}

UNREPORTED=
check "bit-flip of one byte in the middle of cache/prod.sealed"
STALE_AKS=$(last_ak prod)
flip_middle "$C/prod.sealed"
one_case bitflip

check "cache/prod.sealed truncated to half"
STALE_AKS="$STALE_AKS $(last_ak prod)"
sz=$(stat -c %s "$C/prod.sealed")
truncate -s $((sz / 2)) "$C/prod.sealed"
one_case truncated

check "cache/prod.sealed emptied (0 bytes)"
STALE_AKS="$STALE_AKS $(last_ak prod)"
: >"$C/prod.sealed"
one_case empty

check "cache/dev.sealed copied over cache/prod.sealed"
STALE_AKS="$STALE_AKS $(last_ak prod) $(last_ak dev)"
cp "$C/dev.sealed" "$C/prod.sealed"
one_case swapped

check "replayed: an older copy of cache/prod.sealed put back"
cp -p "$C/prod.sealed" "$T/old-prod.sealed"
old_ak=$(last_ak prod)
mount_credfs
out=$("$CREDFS" -c "$CFG" refresh prod 2>&1) || fail "credfs refresh prod: $out"
new_ak=$(last_ak prod)
[ "$new_ak" != "$old_ak" ] || fail "refresh did not give a new key"
cmp -s "$T/old-prod.sealed" "$C/prod.sealed" && fail "refresh did not rewrite cache/prod.sealed"
pass "credfs refresh wrote a newer cache/prod.sealed ($new_ak)"
umount_credfs
cp -p "$T/old-prod.sealed" "$C/prod.sealed"
STALE_AKS="$STALE_AKS $old_ak $new_ak"
one_case replayed

check "store/aws-base.sealed bit-flipped: base left out with a reason, the rest served"
flip_middle "$T/state/store/aws-base.sealed"
n0=$(calls prod)
nint0=$(audit_events integrity | grep -c 'store/aws-base' || true)
mount_credfs
pid=$(daemon_pid)
cat "$MNT/credentials" >"$T/r.store" || fail "reading credentials with a bad store entry failed"
txt=$(cat "$T/r.store")
assert_eq "$(aws_field "$T/r.store" base aws_access_key_id)" "" "base is left out of the credentials file"
assert_not_contains "$txt" "$BASE_SK_RAND" "the stored secret is not served"
assert_match "$txt" "# profile base left out: .*store entry aws-base" \
	"a comment names the profile and the store entry"
grep 'profile base left out' "$T/r.store" | grep -Eq 'authentication|set aside|integrity|corrupt' ||
	fail "the comment does not say what is wrong: $(grep 'profile base left out' "$T/r.store")"
pass "the comment says what is wrong with the entry"
assert_match "$(audit_events refresh_failed | grep '"profile":"base"' | head -n 1)" \
	'store entry aws-base: .*(authentication failed|set aside)' \
	"the audit log's refresh_failed for base gives the integrity failure"
assert_eq "$(aws_field "$T/r.store" prod aws_access_key_id)" "$(last_ak prod)" "prod still served"
assert_eq "$(aws_field "$T/r.store" dev aws_access_key_id)" "$(last_ak dev)" "dev still served"
assert_eq "$(calls prod)" "$n0" "prod came from its cache"
[ -n "$(bad_files | grep '/store/aws-base\.sealed\.bad-')" ] ||
	fail "store/aws-base.sealed was not set aside: $(ls -la "$T/state/store")"
pass "store/aws-base.sealed set aside as $(bad_files | grep '/store/aws-base' | head -n 1)"
assert_eq "$(audit_events integrity | grep -c 'store/aws-base' || true)" $((nint0 + 1)) \
	"an audit 'integrity' event names store/aws-base"
lerr=$(sm_status_field base last_error)
assert_contains "$lerr" "aws-base" "status last_error of base names the store entry: $lerr"
cat "$T/r.store" >/dev/null
cat "$MNT/credentials" >"$T/r.store2" || fail "second read failed"
assert_match "$(cat "$T/r.store2")" "# profile base left out: .*aws-base" \
	"a later read still explains why base is missing"
assert_eq "$(daemon_pid)" "$pid" "the daemon keeps running"
set +e
lst=$("$CREDFS" -c "$CFG" store list 2>&1)
set -e
assert_not_contains "$lst" "$BASE_SK_RAND" "store list shows no secret"
umount_credfs

[ -z "$UNREPORTED" ] ||
	fail "rejected cache files reported only in the audit log, not in credfs.log or status (cases:$UNREPORTED)"
sm_done
