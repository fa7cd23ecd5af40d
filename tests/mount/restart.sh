#!/bin/bash
# A killed daemon leaves nothing that blocks the next mount; one daemon per
# config; umount ends the daemon.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init restart "$@"

write_config
# count the helper's runs
cat >>"$T/helper.sh.count" </dev/null
sed -i "2i echo run >>$T/helper.sh.count" "$T/helper.sh"
mount_credfs
assert_contains "$(cat "$MNT/credentials")" "$PROD_AK" "first daemon serves"
pid=$(daemon_pid)
[ -n "$pid" ] && kill -0 "$pid" || fail "status --json gives no live pid"
pass "status --json pid $pid is alive"
runs_before=$(wc -l <"$T/helper.sh.count")
assert_eq "$runs_before" 1 "the helper ran once"

check "a second credfs mount while one runs fails clearly"
mkdir "$T/mnt2"
_LIB_MOUNTS+=("$T/mnt2")
set +e
out=$("$CREDFS" -c "$CFG" mount "$MNT" 2>&1)
rc=$?
out2=$("$CREDFS" -c "$CFG" mount "$T/mnt2" 2>&1)
rc2=$?
set -e
[ "$rc" != 0 ] || fail "second mount of the same mountpoint succeeded"
assert_match "$out" "^credfs: mount .*already serves $MNT" "same mountpoint: '$out'"
[ "$rc2" != 0 ] || fail "second mount of the same config elsewhere succeeded"
assert_match "$out2" "^credfs: mount .*already serves $MNT" "same config, other mountpoint: '$out2'"
is_mounted "$T/mnt2" && fail "$T/mnt2 got mounted"
assert_eq "$(grep -c " $MNT fuse" /proc/mounts)" 1 "exactly one mount at $MNT"
assert_contains "$(cat "$MNT/credentials")" "$PROD_AK" "the first daemon still serves"
assert_eq "$(daemon_pid)" "$pid" "the same daemon answers"

check "kill -9 the daemon"
kill -9 "$pid"
wait_until 5 sh -c "! kill -0 $pid 2>/dev/null" || fail "daemon $pid survived kill -9"
sleep 0.3
state=$(errno_of "os.stat('$MNT/credentials')")
if is_mounted "$MNT"; then
	assert_eq "$state" ENOTCONN "the dead mount reports ENOTCONN"
else
	pass "the dead mount was unmounted automatically (stat: $state)"
fi
set +e
out=$("$CREDFS" -c "$CFG" status 2>&1)
rc=$?
set -e
[ "$rc" = 1 ] || fail "status with no daemon: exit $rc, want 1: $out"
assert_match "$out" '^credfs: status: ' "status without a daemon: '$out'"

check "credfs mount again, with no manual cleanup"
mount_credfs
pid2=$(daemon_pid)
[ "$pid2" != "$pid" ] || fail "status still reports the dead pid"
assert_contains "$(cat "$MNT/credentials")" "$PROD_AK" "the new daemon serves credentials"
assert_contains "$(cat "$MNT/process/prod.json")" "$PROD_AK" "the new daemon serves process/prod.json"
assert_eq "$(wc -l <"$T/helper.sh.count")" 1 "the restarted daemon serves the sealed cache (the helper did not run again)"

check "kill -9 again, with the auto-unmount watcher gone too: a stale ENOTCONN mount"
# fusermount3 --auto-unmount watches the daemon; kill it first (our own
# child, found by its argv naming our mountpoint) so the mount stays dead.
for p in $(_lib_our_pids); do
	case "$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline")" in
	fusermount3*"$MNT"*) kill -9 "$p" ;;
	esac
done
sleep 0.2
kill -9 "$pid2"
wait_until 5 sh -c "! kill -0 $pid2 2>/dev/null" || fail "daemon $pid2 survived kill -9"
sleep 0.3
if is_mounted "$MNT"; then
	assert_eq "$(errno_of "os.stat('$MNT')")" ENOTCONN "the stale mount reports ENOTCONN"
else
	say "note: the mount went away anyway; the stale path is not exercised"
fi
mount_credfs
assert_contains "$(cat "$MNT/credentials")" "$PROD_AK" "third daemon serves"
assert_eq "$(grep -c " $MNT fuse" /proc/mounts)" 1 "the stale mount was cleared, not stacked under"

check "credfs umount unmounts and the daemon exits"
pid3=$(daemon_pid)
umount_credfs
is_mounted "$MNT" && fail "still mounted"
wait_until 5 sh -c "! kill -0 $pid3 2>/dev/null" || fail "daemon $pid3 still runs after umount"
pass "daemon $pid3 exited"
[ ! -e "$T/state/ctl.sock" ] || fail "control socket left behind"
pass "control socket removed"
assert_contains "$(tail -n 1 "$T/state/audit.log")" '"unmount"' "audit log ends with an unmount event"
set +e
out=$("$CREDFS" -c "$CFG" umount "$MNT" 2>&1)
rc=$?
set -e
[ "$rc" != 0 ] || fail "umount of a directory that is not mounted succeeded"
pass "umount of an unmounted directory fails: $out"
say "all passed"
