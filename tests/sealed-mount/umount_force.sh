#!/bin/bash
# A stopped daemon with a reader blocked in the mount: `credfs umount`
# returns at once (it never stats the mountpoint) and says to use --force;
# `credfs umount --force` aborts the FUSE connection and detaches the
# mount within seconds, and the blocked reader gets an error instead of
# hanging.
set -euo pipefail
. "$(dirname "$0")/smlib.sh"
lib_init umount_force "$@"
write_config
mount_credfs
pid=$(daemon_pid) || fail "no daemon pid"
_LIB_PIDS+=("$pid")
cat "$MNT/credentials" >/dev/null || fail "the mount serves"

check "SIGSTOP the daemon, then a reader blocks in the mount"
kill -STOP "$pid"
cat "$MNT/process/prod.json" >"$T/reader.out" 2>"$T/reader.err" &
reader=$!
_LIB_PIDS+=("$reader")
sleep 1
kill -0 "$reader" 2>/dev/null || fail "the reader was not blocked (the test shows nothing)"
pass "reader $reader is blocked"

check "credfs umount without --force returns within seconds and names --force"
start=$(date +%s%N)
set +e
out=$(timeout 30 "$CREDFS" -c "$CFG" umount "$MNT" 2>&1)
rc=$?
set -e
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" != 124 ] || fail "credfs umount hung (killed by timeout after 30 s)"
[ "$ms" -lt 15000 ] || fail "credfs umount took $ms ms"
[ "$rc" != 0 ] || fail "credfs umount of a busy mount of a stopped daemon succeeded"
assert_contains "$out" "--force" "the error says what to do ($out)"
is_mounted "$MNT" || fail "the mount went away without --force"

check "credfs umount --force returns within seconds"
start=$(date +%s%N)
set +e
out=$(timeout 30 "$CREDFS" -c "$CFG" umount --force "$MNT" 2>&1)
rc=$?
set -e
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" != 124 ] || fail "credfs umount --force hung (killed by timeout after 30 s)"
assert_eq "$rc" 0 "umount --force exits 0 ($out)"
[ "$ms" -lt 10000 ] || fail "credfs umount --force took $ms ms"
pass "umount --force took $ms ms"
wait_until 5 sh -c "! grep -q ' $MNT fuse' /proc/mounts" || fail "$MNT is still mounted"
pass "$MNT is no longer mounted"

check "the blocked reader is released with an error"
if [ "$(id -u)" = 0 ] || [ -w /sys/fs/fuse/connections ]; then
	wait_until 5 sh -c "! kill -0 $reader 2>/dev/null" || fail "the reader still hangs after --force"
	set +e
	wait "$reader"
	rrc=$?
	set -e
	[ "$rrc" != 0 ] || fail "the reader of an aborted connection succeeded"
	assert_not_contains "$(cat "$T/reader.out")" "$PROD_SK" "the aborted reader got no secret"
else
	say "note: not root and no fusectl: the connection cannot be aborted, only detached"
fi
kill -CONT "$pid" 2>/dev/null || true
kill -9 "$pid" 2>/dev/null || true
