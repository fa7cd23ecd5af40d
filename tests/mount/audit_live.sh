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

check "audit report and audit tail cover the kept segments, tail -f follows rotations"
# Records in the kept segments and the log, oldest first.
all_lines() {
	local f
	for f in $(ls "$ALOG".seg-* 2>/dev/null | sort) "$ALOG"; do
		case $f in *.gz) gzip -dc "$f" ;; *) cat "$f" ;; esac
	done
}
opens=$(all_lines | grep -c '"event":"open"')
in_log=$(grep -c '"event":"open"' "$ALOG" || true)
[ "$opens" -gt "$in_log" ] || fail "no open line in the segments ($opens, log $in_log)"
rep=$("$CREDFS" -c "$CFG" audit report 2>&1) || fail "audit report: $rep"
assert_contains "$rep" "$opens opens, 0 denied" "report counts every kept segment's opens"
rep=$("$CREDFS" -c "$CFG" audit report --since 1h 2>&1) || fail "audit report --since: $rep"
assert_contains "$rep" "$opens opens, 0 denied since 1h" "report --since, across segments"
tl=$("$CREDFS" -c "$CFG" audit tail 2>&1) || fail "audit tail: $tl"
assert_eq "$(printf '%s\n' "$tl" | wc -l)" "$(all_lines | wc -l)" \
	"tail prints every line of the kept segments and the log"
assert_eq "$(printf '%s\n' "$tl" | head -1 | awk '{print $2}')" \
	"$(all_lines | head -1 | sed 's/.*"event":"\([a-z_]*\)".*/\1/')" \
	"tail begins with the oldest kept segment's first line"
"$CREDFS" -c "$CFG" audit tail -f >"$T/follow.out" 2>&1 &
fpid=$!
wait_until 10 sh -c "[ \$(wc -l <'$T/follow.out') -ge $(all_lines | wc -l) ]" ||
	fail "tail -f did not print the kept lines"
seg0=$(ls "$ALOG".seg-* | sort | tail -1)
for _ in $(seq 60); do cat "$MNT/process/prod.json" >/dev/null; done
[ "$(ls "$ALOG".seg-* | sort | tail -1)" != "$seg0" ] || fail "no rotation during the 60 opens"
wait_until 10 sh -c "[ \$(grep -c ' open allow process/prod.json ' '$T/follow.out') -ge 60 ]" ||
	fail "tail -f missed lines across a rotation: $(grep -c ' open allow process/prod.json ' "$T/follow.out") of 60"
kill "$fpid"
wait "$fpid" 2>/dev/null || true
assert_eq "$(grep -c ' open allow process/prod.json ' "$T/follow.out")" 60 \
	"tail -f printed each of the 60 opens once, across rotations"
pass "report ($opens opens) and tail over segments; tail -f across rotations"

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
