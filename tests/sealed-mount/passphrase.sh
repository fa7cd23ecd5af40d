#!/bin/bash
# key = passphrase with passphrase_file: store add + mount + read work; a
# wrong passphrase is reported as such, mounts nothing and sets nothing
# aside; a passphrase_file others can read is refused; `credfs lock` drops
# the key cached in the kernel keyring.
set -euo pipefail
. "$(dirname "$0")/smlib.sh"
lib_init passphrase "$@"
export CREDFS_KDF=min
export CREDFS_KEYRING=off

sm_helper "$T/helper.sh"
PASS_OK="correct horse $(head -c 12 /dev/urandom | base64 -w0)"
printf '%s\n' "$PASS_OK" >"$T/pass"
chmod 600 "$T/pass"
cat >"$CFG" <<EOF
[credfs]
state_dir = $T/state
key = passphrase
passphrase_file = $T/pass

[profile prod]
provider = exec
command = $T/helper.sh prod

[profile base]
provider = aws-static
secret = aws-base

[file credentials]
format = aws-credentials
profiles = prod base
EOF
chmod 600 "$CFG"
SK=$(head -c 30 /dev/urandom | base64 -w0)

check "store add, mount, read with the right passphrase"
out=$(printf 'access_key_id=AKIAPASSPHRASETEST01\nsecret_access_key=%s\n' "$SK" |
	"$CREDFS" -c "$CFG" store add aws-base 2>&1) || fail "store add: $out"
assert_contains "$out" "stored aws-base" "store add with passphrase_file"
kdf=$(cat "$T/state/kdf.json")
assert_eq "$(json_get "$kdf" 'j["kdf"]')" argon2id13 "kdf.json records Argon2id"
assert_eq "$(json_get "$kdf" 'j["limits"]')" min "CREDFS_KDF=min was used"
mount_credfs
cat "$MNT/credentials" >"$T/r1" || fail "read failed"
assert_eq "$(aws_field "$T/r1" base aws_secret_access_key)" "$SK" "the store entry is served"
assert_eq "$(aws_field "$T/r1" prod aws_access_key_id)" "$(last_ak prod)" "prod is served"
umount_credfs
files_before=$(cd "$T/state" && find . -type f | sort)

check "a wrong passphrase: a clear error, nothing mounted, nothing set aside"
printf 'not the passphrase\n' >"$T/pass"
set +e
out=$("$CREDFS" -c "$CFG" mount "$MNT" 2>&1)
rc=$?
set -e
[ "$rc" != 0 ] || fail "mount with a wrong passphrase succeeded"
assert_match "$out" "wrong passphrase" "mount: '$out'"
is_mounted "$MNT" && fail "something got mounted at $MNT"
pass "nothing mounted"
set +e
"$CREDFS" -c "$CFG" status >/dev/null 2>&1 && fail "a daemon answers status"
out=$("$CREDFS" -c "$CFG" store list 2>&1)
rc=$?
set -e
[ "$rc" != 0 ] || fail "store list with a wrong passphrase succeeded: $out"
assert_match "$out" "wrong passphrase" "store list: '$out'"
assert_not_contains "$out" "$SK" "no secret in the error"
assert_eq "$(bad_files)" "" "no sealed file was set aside"
assert_eq "$(cd "$T/state" && find . -type f ! -name credfs.log ! -name lock | sort)" \
	"$(printf '%s\n' "$files_before" | grep -v -e '/credfs.log$' -e '/lock$')" \
	"state_dir holds the same files as before"

check "a passphrase_file readable by group or others is refused"
printf '%s\n' "$PASS_OK" >"$T/pass"
for mode in 640 604 644; do
	chmod "$mode" "$T/pass"
	set +e
	out=$("$CREDFS" -c "$CFG" mount "$MNT" 2>&1)
	rc=$?
	set -e
	[ "$rc" != 0 ] || fail "mount with passphrase_file mode $mode succeeded"
	assert_match "$out" "passphrase_file .*(group or others|mode)" "mode $mode: '$out'"
	is_mounted "$MNT" && fail "mode $mode: something got mounted"
done
chmod 600 "$T/pass"
assert_eq "$(bad_files)" "" "still nothing set aside"

check "credfs lock drops the key from the kernel keyring"
desc=credfs:$("$PY" -c 'import hashlib,os,sys; print(hashlib.sha256(os.path.realpath(sys.argv[1]).encode()).hexdigest())' "$T/state")
keyring_cleanup() {
	local id
	for _ in 1 2 3; do
		id=$(keyctl search @u user "$desc" 2>/dev/null) || break
		keyctl unlink "$id" @u >/dev/null 2>&1 || break
	done
}
# shellcheck disable=SC2154 # _rc is set inside the trap
trap '_rc=$?; keyring_cleanup; (exit $_rc); _lib_cleanup' EXIT
if ! command -v keyctl >/dev/null 2>&1; then
	skip "keyctl is not installed: the keyring part cannot be checked"
elif ! keyctl show @u >/dev/null 2>&1; then
	skip "the user keyring is not usable here ($(keyctl show @u 2>&1 | head -n 1))"
else
	export CREDFS_KEYRING=on
	keyring_cleanup
	mount_credfs
	say "keyctl show @u (before lock), this state_dir's key: $(keyctl show @u | grep -F "$desc" | sed 's/^ *//' || echo none)"
	id=$(keyctl search @u user "$desc" 2>/dev/null) ||
		fail "the mount did not cache the key in @u as $desc"
	pass "key $desc cached in @u (id $id)"
	cat "$MNT/credentials" >/dev/null || fail "read before lock failed"
	out=$("$CREDFS" -c "$CFG" lock 2>&1) || fail "credfs lock: $out"
	say "keyctl show @u (after lock), this state_dir's key: $(keyctl show @u | grep -F "$desc" | sed 's/^ *//' || echo none)"
	if keyctl search @u user "$desc" >/dev/null 2>&1; then
		fail "credfs lock left the key in the keyring"
	fi
	pass "credfs lock removed the key from the keyring"
	assert_eq "$(errno_of "open('$MNT/credentials').read()")" EACCES "a locked mount refuses opens"
	# without the cached key, only the passphrase unlocks now
	printf 'not the passphrase\n' >"$T/pass"
	set +e
	out=$("$CREDFS" -c "$CFG" store list 2>&1)
	rc=$?
	set -e
	[ "$rc" != 0 ] || fail "store list with a wrong passphrase worked after lock (key still cached?)"
	assert_match "$out" "wrong passphrase" "after lock a wrong passphrase is refused: '$out'"
	printf '%s\n' "$PASS_OK" >"$T/pass"
	out=$("$CREDFS" -c "$CFG" unlock 2>&1) || fail "credfs unlock: $out"
	cat "$MNT/credentials" >/dev/null || fail "read after unlock failed"
	pass "served again after unlock"
	umount_credfs
	keyring_cleanup
fi
assert_eq "$(bad_files)" "" "nothing set aside in the whole test"
sm_done
