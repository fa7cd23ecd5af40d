#!/bin/bash
# The audit log a real mount writes verifies; an edited, a removed and two
# swapped lines (each on its own copy) make `credfs audit verify` exit 1
# naming the line.  `audit tail` prints human lines, `audit report --key`
# summarises who read the key and the denials around it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pm_init audit_chain "$@"
pm_fuse_allow_other

pm_config 'allow_other = yes' "
[file credentials]
format = aws-credentials
profiles = prod
mode = 0444
allow = uid:0 exe:/usr/bin/cat
deny = exe:/usr/bin/head
"
mount_credfs
F=$MNT/credentials
LOG=$(audit_log)

check "a few allowed and denied opens"
assert_served "cat #1" /usr/bin/cat "$F"
assert_denied "head is refused" /usr/bin/head "$F"
assert_denied "uid $PM_NOBODY is refused" as_nobody /usr/bin/cat "$F"
sleep 0.01
assert_served "cat #2" /usr/bin/cat "$F"
assert_eq "$(count_lines "j['event']=='open'")" 4 "four open lines"

check "the untouched log verifies"
run_rc "$CREDFS" -c "$CFG" audit verify
assert_eq "$RC" 0 "audit verify exits 0 ($OUT)"
NLINES=$(wc -l <"$LOG")
assert_match "$OUT" "^OK: $NLINES lines" "verify counts all $NLINES lines"
[ "$NLINES" -ge 6 ] || fail "expected at least 6 lines (mount + 4 opens + ...), got $NLINES"

# Line numbers (1-based) of the deny lines: both sit between two lines.
HEADLN=$("$PY" -c '
import json, sys
for i, l in enumerate(open(sys.argv[1]), 1):
    j = json.loads(l)
    if j.get("event") == "open" and j.get("exe") == "/usr/bin/head": print(i)' "$LOG")
[ -n "$HEADLN" ] && [ "$HEADLN" -lt "$NLINES" ] || fail "cannot place the head line ($HEADLN of $NLINES)"

# verify_copy NAME PYTHON-EDIT EXPECTED-ERE: copy the log, apply the edit to
# the list `lines`, point a config at the copy, verify must exit 1 and say ERE.
verify_copy() {
	local name=$1 edit=$2 want=$3 copy=$T/$1.log cfg=$T/$1.config
	cp "$LOG" "$copy"
	"$PY" - "$copy" "$edit" <<'EOF'
import sys
path, edit = sys.argv[1], sys.argv[2]
lines = open(path, encoding="utf-8").read().split("\n")[:-1]
exec(edit)
open(path, "w", encoding="utf-8").write("\n".join(lines) + "\n")
EOF
	cmp -s "$copy" "$LOG" && fail "$name: the copy was not changed"
	pm_config "audit_log = $copy" "" "$cfg"
	run_rc "$CREDFS" -c "$cfg" audit verify
	assert_eq "$RC" 1 "$name: audit verify exits 1"
	assert_match "$OUT$ERR" "$want" "$name: verify names the line ($OUT$ERR)"
}

check "tampered copies fail verification"
k=$HEADLN
verify_copy edited "lines[$k-1] = lines[$k-1].replace('\"decision\":\"deny\"', '\"decision\":\"allow\"')" \
	"^line $k: edited"
verify_copy edited_uid "lines[$k-1] = lines[$k-1].replace('\"uid\":0', '\"uid\":1000')" \
	"^line $k: edited"
verify_copy removed "del lines[$k-1]" \
	"^line $k: .*removed"
verify_copy swapped "lines[$k-1], lines[$k] = lines[$k], lines[$k-1]" \
	"^line $k: .*(out of order|reordered)"
verify_copy removed_first "del lines[0]" "^line 1: .*removed"
verify_copy cut "lines[-1] = lines[-1][:20]" "^line $NLINES: "

check "the original still verifies (and so does a plain copy)"
run_rc "$CREDFS" -c "$CFG" audit verify
assert_eq "$RC" 0 "the daemon's log still verifies"
cp "$LOG" "$T/plain.log"
pm_config "audit_log = $T/plain.log" "" "$T/plain.config"
run_rc "$CREDFS" -c "$T/plain.config" audit verify
assert_eq "$RC" 0 "an untouched copy verifies"

check "audit tail"
run_rc "$CREDFS" -c "$CFG" audit tail
assert_eq "$RC" 0 "audit tail exits 0"
case "$OUT" in
"{"*) fail "audit tail printed JSON, not human lines: $OUT" ;;
esac
assert_contains "$OUT" "/usr/bin/cat" "tail shows the exe"
assert_contains "$OUT" "uid=$PM_NOBODY" "tail shows the denied uid"
assert_contains "$OUT" "deny exe:/usr/bin/head" "tail shows the deny rule"
assert_eq "$(printf '%s\n' "$OUT" | grep -c ' open ')" 4 "tail shows four opens"
assert_not_contains "$OUT" '"prev"' "tail does not dump raw JSON"

check "audit report --key"
run_rc "$CREDFS" -c "$CFG" audit report --key "$PM_AK"
assert_eq "$RC" 0 "audit report exits 0"
printf '%s\n' "$OUT" | sed 's/^/    /'
assert_contains "$OUT" "4 opens, 2 denied" "report counts opens and denials"
assert_contains "$OUT" "key $PM_AK" "report names the key"
assert_contains "$OUT" "reads: 2 by 2 process(es)" "report counts the reads"
assert_match "$OUT" "executables:.*/usr/bin/cat \(2\)" "report lists /usr/bin/cat with its count"
assert_match "$OUT" "uids: 0 \(2\)" "report lists uid 0"
assert_contains "$OUT" "denials on these files while served: 2" "report counts the denials around the key"
assert_match "$OUT" "credentials /usr/bin/head pid=[0-9]+ uid=0 \(deny exe:/usr/bin/head\)" "report lists the head denial"
assert_match "$OUT" "credentials /usr/bin/cat pid=[0-9]+ uid=$PM_NOBODY \(default: no rule matched\)" "report lists the uid $PM_NOBODY denial"
run_rc "$CREDFS" -c "$CFG" audit report --key AKIANEVERSERVED00000
assert_contains "$OUT" "never served" "an unknown key is reported as never served"
run_rc "$CREDFS" -c "$CFG" audit report --since 2999-01-01T00:00:00Z
assert_contains "$OUT" "0 opens, 0 denied" "--since in the future counts nothing"
run_rc "$CREDFS" -c "$CFG" audit report --since 1h
assert_contains "$OUT" "4 opens, 2 denied" "--since 1h counts everything"

assert_no_secrets
say "all passed"
