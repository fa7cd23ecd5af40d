#!/bin/bash
# The whole flow as an ordinary user: mount a directory in the user's home
# (fusermount3 doing the privileged part), read, pass through, umount.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init unprivileged "$@"
[ "$(id -u)" = 0 ] || skip "needs root to switch to the test user (run as root)"
need_cmd setpriv
ensure_test_user
[ "$TEST_UID" != 0 ] || fail "CREDFS_TEST_USER=$TEST_USER is root"
[ -d "$TEST_HOME" ] || skip "$TEST_USER has no home directory $TEST_HOME"
[ -u "$(command -v fusermount3)" ] || skip "fusermount3 is not setuid root"
say "user $TEST_USER uid $TEST_UID gid $TEST_GID home $TEST_HOME"

# The build dir may not be reachable by the user: a private copy.
mkdir "$T/bin"
cp "$CREDFS" "$T/bin/credfs"
chmod 755 "$T/bin" "$T/bin/credfs"
UCREDFS=$T/bin/credfs
run_as_user "$UCREDFS" --help >/dev/null ||
	fail "$TEST_USER cannot run $UCREDFS"

U=$(mktemp -d "$TEST_HOME/credfs-mt-unprivileged.XXXXXX")
_LIB_DIRS+=("$U")
UMNT=$U/.aws
_LIB_MOUNTS+=("$UMNT")
mkdir -p "$UMNT/cli/cache" "$U/state"
printf '[default]\nregion = eu-north-1\n' >"$UMNT/config"
write_config_in "$U" "$U/config"
chown -R "$TEST_UID:$TEST_GID" "$U"
chmod 700 "$U" "$U/state"
ucred() { run_as_user "$UCREDFS" -c "$U/config" "$@"; }

check "$TEST_USER mounts $UMNT"
out=$(ucred check 2>&1) || fail "check as $TEST_USER: $out"
out=$(ucred mount "$UMNT" 2>&1) || fail "mount as $TEST_USER: $out"
line=$(grep " $UMNT fuse" /proc/mounts) || fail "$UMNT is not in /proc/mounts"
assert_contains "$line" "user_id=$TEST_UID" "/proc/mounts shows user_id=$TEST_UID"
assert_contains "$line" "fuse.credfs" "the mount is fuse.credfs"
pid=$(json_get "$(ucred status --json)" 'j["pid"]')
[ -n "$pid" ] || fail "no daemon pid from status"
assert_eq "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" "$TEST_UID" "the daemon runs as $TEST_USER"

check "$TEST_USER reads the virtual files with cat"
text=$(run_as_user cat "$UMNT/credentials") || fail "cat credentials as $TEST_USER failed"
assert_contains "$text" "aws_access_key_id = $PROD_AK" "credentials has prod's key"
assert_contains "$text" "[base]" "credentials has [base]"
text=$(run_as_user cat "$UMNT/process/prod.json") || fail "cat process/prod.json failed"
assert_eq "$(json_get "$text" 'j["AccessKeyId"]')" "$PROD_AK" "process/prod.json"
assert_eq "$(run_as_user stat -c %U:%a "$UMNT/credentials")" "$TEST_USER:400" "credentials is $TEST_USER's, mode 0400"

check "passthrough as $TEST_USER"
assert_contains "$(run_as_user cat "$UMNT/config")" eu-north-1 "config reads through"
run_as_user sh -c "echo written-by-user >'$UMNT/cli/cache/new.json'" ||
	fail "$TEST_USER cannot create a file through the mount"
assert_eq "$(run_as_user cat "$UMNT/cli/cache/new.json")" written-by-user "new file reads back"
assert_fails_with 'Permission denied|Operation not permitted' "$TEST_USER cannot write credentials" -- \
	run_as_user sh -c "echo x >'$UMNT/credentials'"

check "$TEST_USER unmounts"
out=$(ucred umount "$UMNT" 2>&1) || fail "umount as $TEST_USER: $out"
wait_until 5 sh -c "! grep -q ' $UMNT fuse' /proc/mounts" || fail "still mounted"
pass "unmounted"
wait_until 5 sh -c "! kill -0 $pid 2>/dev/null" || fail "daemon $pid still runs"
pass "the daemon exited"
assert_eq "$(cat "$UMNT/cli/cache/new.json")" written-by-user "the new file is underneath"
assert_eq "$(stat -c %U "$UMNT/cli/cache/new.json")" "$TEST_USER" "owned by $TEST_USER"
[ ! -e "$UMNT/credentials" ] || fail "credentials exists underneath"
pass "no virtual file underneath"
st=$(stat -c '%U %a' "$U/state/audit.log")
assert_eq "$st" "$TEST_USER 600" "audit log is $TEST_USER's, mode 0600"
say "all passed"
