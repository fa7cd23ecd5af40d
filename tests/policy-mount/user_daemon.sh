#!/bin/bash
# A daemon running as an ordinary user cannot read another user's
# /proc/PID/exe (issue 14): rules that need only uid, gid or cgroup still
# decide for such a caller; a rule that needs the executable fails closed
# ("unidentified caller"), and the audit line has exe null.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pm_init user_daemon "$@"
pm_fuse_allow_other
ensure_test_user
[ "$TEST_UID" != 0 ] || fail "CREDFS_TEST_USER=$TEST_USER is root"
[ -u "$(command -v fusermount3)" ] || skip "fusermount3 is not setuid root"
need_cgroup2

mkdir "$T/bin"
cp "$CREDFS" "$T/bin/credfs"
chmod 755 "$T/bin" "$T/bin/credfs"
UCREDFS=$T/bin/credfs

pm_config 'allow_other = yes' "
[file credentials]
format = aws-credentials
profiles = prod
mode = 0444
allow = uid:$PM_NOBODY
allow = uid:0 exe:/usr/bin/cat

[file cg]
format = aws-credentials
profiles = prod
mode = 0444
allow = uid:$PM_NOBODY cgroup:/**
"
chown -R "$TEST_UID:$TEST_GID" "$T/state" "$MNT" "$CFG"
run_as_user "$UCREDFS" -c "$CFG" check >/dev/null 2>&1 ||
	fail "check as $TEST_USER: $(run_as_user "$UCREDFS" -c "$CFG" check 2>&1)"
_LIB_MOUNTS+=("$MNT")
out=$(run_as_user "$UCREDFS" -c "$CFG" mount "$MNT" 2>&1) ||
	fail "mount as $TEST_USER: $out"
is_mounted "$MNT" || fail "$MNT is not mounted"
pid=$(json_get "$(run_as_user "$UCREDFS" -c "$CFG" status --json)" 'j["pid"]')
_LIB_PIDS+=("$pid")
assert_eq "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" "$TEST_UID" "the daemon runs as $TEST_USER"

check "uid $PM_NOBODY, whose executable the daemon cannot see, is decided by uid"
assert_served "uid $PM_NOBODY: cat reads the credentials" as_nobody /usr/bin/cat "$MNT/credentials"
assert_contains "$OUT" "$PM_AK" "nobody got the key"
assert_line "j['event']=='open' and j['decision']=='allow' and j['uid']==$PM_NOBODY and j['file']=='credentials'" \
	"an allow line for uid $PM_NOBODY"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["exe"] is None')" True "exe is null: not visible to the daemon"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["rule"]')" "allow uid:$PM_NOBODY" "the uid rule decided"

check "a cgroup rule decides without the executable too"
assert_served "uid $PM_NOBODY: cat reads cg" as_nobody /usr/bin/cat "$MNT/cg"
assert_line "j['event']=='open' and j['decision']=='allow' and j['file']=='cg'" "an allow line for cg"

check "a rule that needs root's executable fails closed"
assert_denied "root: cat gets EACCES" /usr/bin/cat "$MNT/credentials"
assert_line "j['event']=='open' and j['decision']=='deny' and j['uid']==0" "a deny line for root"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["rule"]')" "unidentified caller" "denied as unidentified"

out=$(run_as_user "$UCREDFS" -c "$CFG" umount "$MNT" 2>&1) || fail "umount: $out"
assert_no_secrets
say "all passed"
