#!/bin/bash
# audit_required = yes (the default): when the audit line cannot be written
# (the log's filesystem is full) an open fails with EIO and nothing is
# served; the daemon survives; once space returns serving resumes and the
# log, cut back to whole lines, still verifies.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pm_init audit_full "$@"

AFS=$T/auditfs
mkdir "$AFS"
mount -t tmpfs -o size=64k,mode=0700 tmpfs "$AFS" || skip "cannot mount a tmpfs"
afs_cleanup() {
	# the daemon holds the log open until it is killed: detach lazily
	umount -l "$AFS" 2>/dev/null || true
}
# _lib_cleanup kills the daemon and removes $T; the tmpfs must be detached
# first so rm -rf does not stop at a mount point.
pm_on_exit afs_cleanup
export PM_AUDIT=$AFS/audit.log

pm_config "audit_log = $AFS/audit.log" "
[file credentials]
format = aws-credentials
profiles = prod
allow = uid:0 exe:/usr/bin/cat
"
mount_credfs
F=$MNT/credentials
PID=$(daemon_pid) || fail "status does not answer"
assert_served "served while the log has room" /usr/bin/cat "$F"
assert_eq "$(count_lines "j['event']=='open' and j['decision']=='allow'")" 1 "one allow line"

check "fill the log's filesystem"
dd if=/dev/zero of="$AFS/filler" bs=1k 2>/dev/null && fail "dd filled nothing?"
dd if=/dev/zero of="$AFS/filler2" bs=1 count=4096 2>/dev/null || true
pass "$(df -k "$AFS" | awk 'NR==2 { print $4 }') KiB left on the audit filesystem"
lines_before=$(wc -l <"$AFS/audit.log")

# The log's last page may still take a line or two: open until one fails.
served=0
for i in $(seq 30); do
	run_rc /usr/bin/cat "$F"
	[ "$RC" = 0 ] || break
	served=$((served + 1))
done
[ "$RC" != 0 ] || fail "30 opens were served on a full filesystem"
say "$served open(s) still fit in the log's last page"
assert_contains "$ERR" "Input/output error" "the open fails with EIO"
assert_eq "$OUT" "" "nothing served"
lines_full=$(wc -l <"$AFS/audit.log")
assert_eq "$lines_full" "$((lines_before + served))" "one line per served open, none for the refused one"

check "every further open fails while the log is full"
for i in 1 2 3; do
	run_rc /usr/bin/cat "$F"
	[ "$RC" != 0 ] || fail "open #$i served with the log full: $OUT"
	assert_contains "$ERR" "Input/output error" "open #$i: EIO"
	assert_eq "$OUT" "" "open #$i: nothing served"
done
assert_eq "$(wc -l <"$AFS/audit.log")" "$lines_full" "the refused opens wrote no line"
# (a deny line is shorter than an allow line and may still fit)
assert_denied "a denied open is still EACCES" /usr/bin/head "$F"
tail -c 1 "$AFS/audit.log" | od -c | grep -q '\\n' || fail "the log does not end with a whole line"
pass "the log ends with a whole line"

check "the daemon survives"
PID2=$(daemon_pid) || fail "status does not answer with the log full"
assert_eq "$PID2" "$PID" "same daemon pid"
is_mounted "$MNT" || fail "the mount is gone"
pass "still mounted"

check "space returns: serving resumes"
rm -f "$AFS/filler" "$AFS/filler2"
assert_served "served again after the filler is removed" /usr/bin/cat "$F"
assert_served "and again" /usr/bin/cat "$F"
assert_eq "$(daemon_pid)" "$PID" "still the same daemon"
run_rc "$CREDFS" -c "$CFG" audit verify
assert_eq "$RC" 0 "audit verify passes ($OUT$ERR)"
assert_eq "$(count_lines "j['event']=='open' and j['decision']=='allow'")" "$((1 + served + 2))" "every served open has its allow line"

assert_no_secrets "$AFS/audit.log" "$T/state/credfs.log"
say "all passed"
