#!/bin/bash
# Fault injection (issue 14, "Make it permanent"): EIO and ENOSPC on the
# audit log's and the sealed cache's writes, the wall clock jumping both
# ways, SIGKILL of the daemon at random instants of a refresh, SIGSTOP
# during one.  Each asserts the clear error and that nothing was lost (the
# audit chain verifies, no sealed file set aside, readers served after).
# The faults come from tests/fault/fault_shim.c (LD_PRELOAD, test-only).
# $1: credfs, $2: the shim.
set -euo pipefail
. "$(dirname "$0")/../mount/lib.sh"
SHIM=${2:?usage: faults.sh CREDFS SHIM}
lib_init faults "$1"
[ -f "$SHIM" ] || fail "no shim at $SHIM"
export CREDFS_FAULT=$T/fault
: >"$CREDFS_FAULT"

cat >"$T/slow.sh" <<'H'
#!/bin/sh
sleep 0.$(( $(od -An -N1 -tu1 /dev/urandom) % 4 ))
exp=$(date -u -d '+3600 seconds' +%Y-%m-%dT%H:%M:%SZ)
printf '{"Version": 1, "AccessKeyId": "ASIAFAULTSLOW0001", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "%s"}\n' "$exp"
H
chmod 755 "$T/slow.sh"
write_config "
[profile slow]
provider = exec
command = $T/slow.sh

[file slow.json]
format = aws-process
profiles = slow
"
ALOG=$T/state/audit.log
mount_faulty() { LD_PRELOAD=$SHIM mount_credfs; }
verify_ok() {
	local out
	out=$("$CREDFS" -c "$CFG" audit verify 2>&1) || fail "$1: audit verify: $out"
}
no_bad() {
	if find "$T/state" -name '*.bad-*' | grep -q .; then
		fail "$1: a sealed file was set aside: $(find "$T/state" -name '*.bad-*')"
	fi
}
mount_faulty
cat "$MNT/credentials" >/dev/null

for err in EIO ENOSPC; do
	check "$err on the audit log's writes"
	echo "write $err audit.log" >"$CREDFS_FAULT"
	assert_eq "$(errno_of "open('$MNT/credentials').read()")" EIO \
		"an unwritable audit line refuses the open (audit_required)"
	: >"$CREDFS_FAULT"
	cat "$MNT/credentials" >/dev/null || fail "open after the $err cleared"
	tail -c 1 "$ALOG" | od -An -c | grep -q '\\n' || fail "the log ends mid-line"
	verify_ok "after $err on the audit log"
	pass "$err on audit writes: refused, then served, chain intact"

	check "$err on the sealed cache's writes"
	echo "write $err /cache/" >"$CREDFS_FAULT"
	out=$("$CREDFS" -c "$CFG" refresh prod 2>&1) || fail "refresh with $err on the cache: $out"
	: >"$CREDFS_FAULT"
	grep '"event":"cache_write_failed"' "$ALOG" | tail -1 | grep -q '"profile":"prod"' ||
		fail "no cache_write_failed line for $err"
	assert_contains "$(cat "$MNT/credentials")" "$PROD_AK" "served from the fresh fetch"
	pass "$err on cache writes: the refresh serves, the failure is audited"
done
"$CREDFS" -c "$CFG" refresh prod >/dev/null
umount_credfs
mount_faulty
assert_contains "$(cat "$MNT/credentials")" "$PROD_AK" "after a restart, served"
no_bad "after cache write faults"
s=$(status_json)
assert_not_contains "$s" '"integrity"' "no integrity error after a restart"
verify_ok "after the restart"

check "the wall clock jumps forward 2 h and back"
echo "clock 7200" >"$CREDFS_FAULT"
assert_contains "$(cat "$MNT/credentials")" "$PROD_AK" "served after a jump forward"
echo "clock -7200" >"$CREDFS_FAULT"
assert_contains "$(cat "$MNT/credentials")" "$PROD_AK" "served after a jump back"
: >"$CREDFS_FAULT"
assert_contains "$(cat "$MNT/process/prod.json")" "$PROD_AK" "served after the clock came back"
verify_ok "after clock jumps"
no_bad "after clock jumps"

check "SIGSTOP during a refresh: readers wait, then are served"
pid=$(daemon_pid)
"$CREDFS" -c "$CFG" refresh slow >/dev/null 2>&1 &
rpid=$!
sleep 0.1
kill -STOP "$pid"
(timeout 30 cat "$MNT/slow.json" >"$T/stopped.out" 2>&1; echo $? >"$T/stopped.rc") &
sleep 1
kill -CONT "$pid"
wait "$rpid" || true
wait_until 30 test -s "$T/stopped.rc" || fail "the reader never finished"
assert_eq "$(cat "$T/stopped.rc")" 0 "the reader held during SIGSTOP is served"
verify_ok "after SIGSTOP"

check "SIGKILL at random instants of a refresh, 8 times"
for i in $(seq 8); do
	pid=$(daemon_pid) || fail "no daemon before kill $i"
	"$CREDFS" -c "$CFG" refresh slow >/dev/null 2>&1 &
	rpid=$!
	sleep "0.$(( $(od -An -N1 -tu1 /dev/urandom) % 5 ))"
	kill -KILL "$pid"
	wait "$rpid" || true
	wait_until 10 sh -c "! kill -0 $pid 2>/dev/null" || fail "daemon $pid survived SIGKILL"
	fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	mount_faulty
	assert_contains "$(cat "$MNT/slow.json")" ASIAFAULTSLOW0001 "served after kill $i"
done
no_bad "after 8 kills"
verify_ok "after 8 kills"
pass "8 kills during refreshes: the chain verifies, no sealed file set aside"
umount_credfs
say "all passed"
