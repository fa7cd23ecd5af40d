#!/bin/bash
# Virtual files are read-only whatever the caller tries; virtual-only
# directories take no new entries; readdir shows each name once.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init virtual_ro "$@"

# An old static credentials file and other files lie underneath.
printf '[default]\naws_access_key_id = AKIAOLDUNDERNEATH000\n' >"$MNT/credentials"
printf '[default]\nregion = us-east-1\n' >"$MNT/config"
mkdir "$MNT/sso"
write_config
mount_credfs

creds_body() { tail -n +2 "$MNT/credentials"; } # without the time line
before_c=$(creds_body)
before_p=$(cat "$MNT/process/prod.json")
assert_contains "$before_c" "$PROD_AK" "the virtual credentials shadow the file underneath"
assert_not_contains "$before_c" AKIAOLDUNDERNEATH000 "the old file's bytes are not served"

DENIED='Permission denied|Operation not permitted|Read-only'
for f in credentials process/prod.json; do
	P=$MNT/$f
	check "$f: every way of changing it fails"
	assert_fails_with "$DENIED" "$f: write (>)" -- sh -c "echo evil >'$P'"
	assert_fails_with "$DENIED" "$f: ': >' (O_TRUNC)" -- sh -c ": >'$P'"
	assert_fails_with "$DENIED" "$f: truncate -s0" -- truncate -s0 "$P"
	assert_fails_with "$DENIED" "$f: append (>>)" -- sh -c "echo evil >>'$P'"
	assert_fails_with "$DENIED" "$f: mv away" -- mv "$P" "$MNT/stolen"
	assert_fails_with "$DENIED" "$f: mv over it" -- sh -c "echo x >'$T/x' && cp '$T/x' '$MNT/over' && mv -f '$MNT/over' '$P'"
	rm -f "$MNT/over"
	assert_fails_with "$DENIED" "$f: rm" -- rm -f "$P"
	assert_fails_with "$DENIED" "$f: chmod 0600" -- chmod 0600 "$P"
	assert_fails_with "$DENIED" "$f: chown" -- chown "$(id -u):$(id -g)" "$P"
	assert_fails_with "$DENIED" "$f: touch (utimens)" -- touch "$P"
	assert_fails_with "$DENIED|File exists" "$f: ln to it" -- ln "$P" "$MNT/hardlink"
	for how in 'os.O_WRONLY' 'os.O_RDWR' 'os.O_RDONLY | os.O_TRUNC' 'os.O_WRONLY | os.O_APPEND'; do
		e=$(errno_of "os.open('$P', $how)")
		assert_match "$e" '^(EACCES|EPERM|EROFS)$' "$f: open($how) fails with $e"
	done
	assert_eq "$(stat -c %a "$P")" 400 "$f: mode still 0400"
done
check "the bytes are unchanged afterwards"
assert_eq "$(creds_body)" "$before_c" "credentials unchanged"
assert_eq "$(cat "$MNT/process/prod.json")" "$before_p" "process/prod.json unchanged"
[ ! -e "$MNT/stolen" ] && [ ! -e "$MNT/hardlink" ] || fail "a rename or link left a copy"
pass "no copy made by mv/ln"

check "virtual-only directory process/ takes no new entries"
assert_fails_with '.' "create process/new" -- sh -c "echo x >'$MNT/process/new'"
assert_fails_with '.' "mkdir process/sub" -- mkdir "$MNT/process/sub"
assert_fails_with '.' "symlink process/ln" -- ln -s /etc/passwd "$MNT/process/ln"
assert_fails_with '.' "mv a file into process/" -- mv "$MNT/config" "$MNT/process/config"
assert_fails_with "$DENIED|Directory not empty|Device or resource busy" "rmdir process" -- rmdir "$MNT/process"
assert_fails_with "$DENIED|File exists" "mkdir over a virtual name" -- mkdir "$MNT/credentials"
assert_eq "$(ls -A "$MNT/process")" prod.json "process/ still lists only prod.json"
assert_eq "$(cat "$MNT/config")" "$(printf '[default]\nregion = us-east-1')" "config still in place"

check "readdir of the root: passthrough and virtual names, each once"
listing=$(ls -A "$MNT" | sort)
assert_eq "$listing" "$(printf 'config\ncredentials\nprocess\nsso')" "ls -A lists each name once"
py_listing=$("$PY" -c 'import os, sys; print(" ".join(sorted(os.listdir(sys.argv[1]))))' "$MNT")
assert_eq "$py_listing" "config credentials process sso" "os.listdir lists each name once"
assert_eq "$(stat -c %F "$MNT/process")" directory "process is a directory"
assert_eq "$(stat -c %F "$MNT/credentials")" "regular file" "credentials is a regular file"

umount_credfs
check "after unmount the file underneath is untouched"
assert_eq "$(cat "$MNT/credentials")" "$(printf '[default]\naws_access_key_id = AKIAOLDUNDERNEATH000')" "old credentials underneath unchanged"
[ ! -e "$MNT/process" ] || fail "a process/ directory appeared underneath"
pass "no process/ underneath"
say "all passed"
