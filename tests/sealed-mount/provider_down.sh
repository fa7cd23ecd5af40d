#!/bin/bash
# A provider that fails never costs a credential that is still valid: it is
# served until its expiry and never after; then the files explain why the
# profile is missing.  A provider that hangs delays no reader past
# open_timeout.
set -euo pipefail
. "$(dirname "$0")/smlib.sh"
lib_init provider_down "$@"

sm_helper "$T/helper.sh"
sm_config "open_timeout = 2s" "prod" "
[profile slow]
provider = exec
command = $T/helper.sh slow
timeout = 6s

[file credentials]
format = aws-credentials
profiles = prod

[file process/prod.json]
format = aws-process
profiles = prod

[file slow.json]
format = aws-process
profiles = slow

[file both]
format = aws-credentials
profiles = prod slow default=slow
"

# timed_read FILE: prints "SECONDS RESULT" where RESULT is OK:<AccessKeyId
# or first aws_access_key_id> or the errno name.
cat >"$T/tread.py" <<'PYEOF'
import errno, json, os, re, sys, time
p = sys.argv[1]
t0 = time.time()
try:
    with open(p, "rb") as f:
        data = f.read().decode()
    res = "OK:"
    try:
        res += json.loads(data)["AccessKeyId"]
    except ValueError:
        m = re.search(r"aws_access_key_id = (\S+)", data)
        res += m.group(1) if m else "-"
except OSError as e:
    res = errno.errorcode.get(e.errno, str(e.errno))
print("%.3f %.3f %s" % (time.time() - t0, t0, res))
PYEOF
tread() { "$PY" "$T/tread.py" "$1"; }

mount_credfs

check "part 1: a 10 s credential, then the provider fails"
echo 10 >"$T/life.prod"
r=$(tread "$MNT/process/prod.json")
ak1=$(last_ak prod)
assert_eq "${r##* }" "OK:$ak1" "the first read is served"
exp=$(tail -n 1 "$T/issued.prod" | cut -d' ' -f4)
exp_s=$(date -u -d "$exp" +%s)
touch "$T/fail.prod"
say "credential $ak1 expires at $exp; provider now fails"
served=0
after=0
while :; do
	r=$(tread "$MNT/process/prod.json")
	set -- $r
	took=$1 t0=$2 res=$3
	t0s=${t0%.*}
	if [ "$t0s" -lt "$exp_s" ]; then
		[ "$res" = "OK:$ak1" ] ||
			fail "read at $t0 (before expiry $exp_s): got $res, want the still valid $ak1"
		served=$((served + 1))
	else
		[ "$res" != "OK:$ak1" ] || fail "the expired credential $ak1 was served at $t0 (expiry $exp_s)"
		after=$((after + 1))
	fi
	awk -v t="$took" 'BEGIN { exit !(t <= 2.5) }' || fail "a read took $took s"
	[ "$after" -ge 3 ] && break
	sleep 0.4
done
pass "the valid credential was served by all $served reads before its expiry, never after"
n=$(calls prod)
[ "$n" -ge 2 ] || fail "no refresh attempt reached the provider while it was due (calls: $n)"
pass "refresh was attempted while serving ($((n - 1)) failed provider calls)"
assert_eq "$(calls prod)" "$n" "(provider calls: $n)"
st=$(sm_status_field prod state)
assert_match "$st" '^(failed|expired|refreshing)$' "status state after expiry: $st"
assert_contains "$(sm_status_field prod last_error)" "simulated outage" "status last_error has the provider's error"
assert_eq "$(sm_status_field prod expires)" "" "status shows no expiry for the expired credential"

check "after expiry: the files explain, the aws-process file fails with EIO"
cat "$MNT/credentials" >"$T/creds.after" || fail "the credentials file should still open"
txt=$(cat "$T/creds.after")
assert_not_contains "$txt" "$ak1" "the expired key is not in the credentials file"
assert_not_contains "$txt" "aws_access_key_id" "no profile is served"
assert_match "$txt" "# profile prod left out: .*simulated outage of prod" \
	"a comment gives the provider's error"
assert_eq "$(errno_of "open('$MNT/process/prod.json').read()")" EIO "process/prod.json fails with EIO"

check "the provider comes back: served again"
rm -f "$T/fail.prod"
# a read waits out the backoff (up to minutes after many failures); an
# explicit refresh does not
out=$("$CREDFS" -c "$CFG" refresh prod 2>&1) || fail "credfs refresh prod after recovery: $out"
r=$(tread "$MNT/process/prod.json")
[ "$(last_ak prod)" != "$ak1" ] || fail "no new key was issued"
assert_eq "${r##* }" "OK:$(last_ak prod)" "served again with the new key once the provider answers"
assert_eq "$(sm_status_field prod last_error)" "" "status: the error is cleared"

check "part 2: a provider that hangs, open_timeout = 2s"
touch "$T/hang.slow"
r=$(tread "$MNT/slow.json")
set -- $r
say "never-fetched slow.json: $3 after $1 s"
awk -v t="$1" 'BEGIN { exit !(t <= 2.5) }' || fail "reading slow.json took $1 s (open_timeout 2s)"
[ "$3" != "${3#OK}" ] && fail "slow.json served without a credential: $3"
pass "the reader got $3 within $1 s"

check "five readers at once and a file that names the hanging profile twice"
pids=()
for i in 1 2 3 4 5; do
	tread "$MNT/slow.json" >"$T/par.$i" &
	pids+=($!)
done
tread "$MNT/both" >"$T/par.both" &
pids+=($!)
for p in "${pids[@]}"; do wait "$p" || true; done
for f in "$T"/par.*; do
	read -r took _ res <"$f"
	awk -v t="$took" 'BEGIN { exit !(t <= 2.5) }' ||
		fail "$(basename "$f"): a reader waited $took s (open_timeout 2s): $res"
done
pass "no reader waited longer than ~open_timeout: $(cut -d' ' -f1 "$T"/par.* | tr '\n' ' ')"
cat "$MNT/both" >"$T/both.txt" 2>&1 || true
assert_contains "$(cat "$T/both.txt")" "aws_access_key_id = $(last_ak prod)" \
	"the file with prod and the hanging profile still serves prod"
assert_match "$(cat "$T/both.txt")" "# profile slow left out" "and names slow as left out"

check "a valid but due credential is served at once while its provider hangs"
rm -f "$T/hang.slow"
echo 6 >"$T/life.slow"
out=$("$CREDFS" -c "$CFG" refresh slow 2>&1) ||
	out=$("$CREDFS" -c "$CFG" refresh slow 2>&1) || fail "credfs refresh slow: $out"
slow_ak=$(last_ak slow)
slow_exp=$(date -u -d "$(tail -n 1 "$T/issued.slow" | cut -d' ' -f4)" +%s)
touch "$T/hang.slow"
sleep 3.3 # past half the lifetime: due
r=$(tread "$MNT/slow.json")
set -- $r
[ "$(date -u +%s)" -lt "$slow_exp" ] || fail "test too slow: the 6 s credential expired already"
assert_eq "$3" "OK:$slow_ak" "the due credential is served"
awk -v t="$1" 'BEGIN { exit !(t <= 0.5) }' || fail "serving the due credential took $1 s"
pass "served in $1 s, not waiting for the hanging refresh"
umount_credfs
sm_done
