#!/bin/bash
# The audit log of a mounted daemon (issue 14): rotation by size with
# audit_keep (verify across segments), the log unlinked while mounted (new
# opens land in a new log, verify names the cut), replaced by a foreign
# file with audit_required (opens refused with EIO, status says why, moving
# it aside resumes), and, as root, a small filesystem: the status warning,
# and ENOSPC on the audit write refusing opens without losing the chain.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init audit_live "$@"

ALOG=$T/state/audit.log
SMALL=
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$T/alog"
	mount -t tmpfs -o size=2m,mode=0700 tmpfs "$T/alog"
	SMALL=$T/alog
	ALOG=$SMALL/audit.log
	trap 'umount -l "$SMALL" 2>/dev/null || true; _lib_cleanup' EXIT
fi
write_config
sed -i "s|^\[credfs\]\$|[credfs]\naudit_log = $ALOG\naudit_max_size = 8K\naudit_keep = 2|" "$CFG"
mount_credfs

check "rotation by size while serving"
for _ in $(seq 80); do cat "$MNT/credentials" >/dev/null; done
ls "$(dirname "$ALOG")" | grep -q 'audit.log.seg-' || fail "no segment after 80 opens"
nseg=$(ls "$(dirname "$ALOG")" | grep -c 'audit.log.seg-')
[ "$nseg" -le 2 ] || fail "audit_keep = 2 but $nseg segments"
out=$("$CREDFS" -c "$CFG" audit verify 2>&1) || fail "verify across segments: $out"
assert_contains "$out" "segment file(s), chain intact" "verify across segments"
pass "rotated, $nseg segments kept, verified"

check "status reports the audit log and its free space"
s=$(status_json)
free=$(json_get "$s" 'j["audit"]["free_bytes"]')
[ -n "$free" ] || fail "no audit.free_bytes in status: $s"
if [ -n "$SMALL" ]; then
	assert_contains "$("$CREDFS" -c "$CFG" status)" "AUDIT WARNING" \
		"a 2 MiB filesystem is warned about"
fi

check "the log unlinked while mounted"
rm -f "$ALOG"
cat "$MNT/credentials" >/dev/null || fail "open after rm of the log"
[ -s "$ALOG" ] || fail "no new log at $ALOG"
grep -q '"event":"open"' "$ALOG" || fail "the open is not in the new log"
assert_contains "$(cat "$ALOG")" "unlinked while open" "the new log says why it begins"
set +e
out=$("$CREDFS" -c "$CFG" audit verify 2>&1)
rc=$?
set -e
[ "$rc" = 1 ] || fail "verify after rm returned $rc: $out"
assert_contains "$out" "unlinked" "verify names the cut: $out"

check "the log replaced by a foreign file (audit_required = yes)"
printf '{"forged":true}\n' >"$ALOG.new"
chmod 600 "$ALOG.new"
mv "$ALOG.new" "$ALOG"
assert_eq "$(errno_of "open('$MNT/credentials').read()")" EIO "opens are refused"
assert_contains "$("$CREDFS" -c "$CFG" status)" "AUDIT REFUSING" "status says why"
assert_contains "$(cat "$T/state/credfs.log" 2>/dev/null || true)$("$CREDFS" -c "$CFG" status)" \
	"replaced by another file" "the refusal names the cause"
mv "$ALOG" "$ALOG.foreign"
cat "$MNT/credentials" >/dev/null || fail "open after the foreign file was moved aside"
assert_contains "$(cat "$ALOG")" "refusal ended" "the new log says the refusal ended"
assert_not_contains "$("$CREDFS" -c "$CFG" status)" "AUDIT REFUSING" "status clear again"

if [ -n "$SMALL" ]; then
	check "ENOSPC on the audit write: opens refused, nothing half-written"
	before=$(wc -l <"$ALOG")
	dd if=/dev/zero of="$SMALL/fill" bs=64k 2>/dev/null || true
	# The log's last page may still hold a few lines: open until it fills.
	got=
	for _ in $(seq 40); do
		got=$(errno_of "open('$MNT/credentials').read()")
		[ "$got" = OK ] || break
	done
	assert_eq "$got" EIO "a full disk refuses opens (audit_required)"
	rm -f "$SMALL/fill"
	cat "$MNT/credentials" >/dev/null || fail "open after space returned"
	tail -c 1 "$ALOG" | od -An -c | grep -q '\\n' || fail "the log ends mid-line"
	after=$(wc -l <"$ALOG")
	[ "$after" -gt "$before" ] || fail "no line after space returned"
	"$PY" - "$ALOG" <<'PY' || fail "a line of the log is not whole JSON"
import json, sys
for l in open(sys.argv[1]):
    json.loads(l)
PY
	pass "ENOSPC refused opens, the log stayed whole"
fi
umount_credfs
say "all passed"
