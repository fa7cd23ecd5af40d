#!/bin/bash
# kill -9 of the daemon at random moments while it writes the sealed cache
# and manifest, 50 times: every sealed file still opens afterwards (the
# restarted daemon serves from the cache, sets nothing aside, and
# `credfs store list` works).
set -euo pipefail
. "$(dirname "$0")/smlib.sh"
lib_init killnine "$@"
ROUNDS=${KILLNINE_ROUNDS:-50}

sm_helper "$T/helper.sh"
sm_config "audit_sync = always" "prod dev fast base" "
[file credentials]
format = aws-credentials
profiles = prod dev base

[file fast.json]
format = aws-process
profiles = fast
"
# fast: 2 s credentials, refreshed at half their lifetime by the daemon
echo 2 >"$T/life.fast"
printf 'access_key_id=AKIAKILLNINETEST0001\nsecret_access_key=%s\n' \
	"$(head -c 30 /dev/urandom | base64 -w0)" |
	"$CREDFS" -c "$CFG" store add aws-base >/dev/null || fail "store add failed"

mount_credfs
cat "$MNT/credentials" >/dev/null || fail "first read failed"
cat "$MNT/fast.json" >/dev/null || fail "first read of fast.json failed"

# load: refresh loops rewrite cache/*.sealed and manifest.sealed all the
# time, a reader keeps `fast` active so the daemon refreshes it itself.
load() {
	local p=$1
	while [ ! -e "$T/stop" ]; do
		"$CREDFS" -c "$CFG" refresh "$p" >/dev/null 2>&1 || sleep 0.01
	done
}
reader() {
	while [ ! -e "$T/stop" ]; do
		cat "$MNT/fast.json" >/dev/null 2>&1 || sleep 0.01
	done
}

# no exec helper of a killed daemon still running (it would log a call late)
helpers_idle() {
	local p
	for p in /proc/[0-9]*; do
		case "$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" in
		*"$T/helper.sh"*) return 1 ;;
		esac
	done
	return 0
}

# dead: gone, or a zombie waiting for its (re)parent to reap it
gone() {
	local st
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

# access_key_ids FILE: prod's, dev's and base's aws_access_key_id ("-" if
# missing) from an aws-credentials text, with one interpreter start a round
access_key_ids() {
	"$PY" - "$1" <<'PYEOF'
import configparser, sys
cp = configparser.ConfigParser(interpolation=None)
cp.read_string(open(sys.argv[1]).read())
print(*[cp.get(s, "aws_access_key_id", fallback="-") or "-"
        for s in ("prod", "dev", "base")])
PYEOF
}

# mid_write: the kill left a write unfinished (a temporary file that the
# restarted daemon sweeps): the window this test is after
mid_write() {
	[ -n "$(find "$T/state" -name '*.tmp-*' 2>/dev/null | head -n 1)" ]
}

kills=0
torn=0
for i in $(seq "$ROUNDS"); do
	pid=$(daemon_pid) || fail "round $i: no daemon answers status"
	rm -f "$T/stop"
	load prod &
	l1=$!
	load dev &
	l2=$!
	reader &
	l3=$!
	ms=$((RANDOM % 301))
	sleep "$(printf '0.%03d' "$ms")"
	kill -9 "$pid"
	kills=$((kills + 1))
	touch "$T/stop"
	wait "$l1" "$l2" "$l3" 2>/dev/null || true
	wait_until 5 gone "$pid" || fail "round $i: daemon $pid survived kill -9"
	[ -n "${KN_DEBUG:-}" ] && say "round $i t=$SECONDS killed+waited"

	wait_until 10 helpers_idle || fail "round $i: exec helpers still running 10 s after the kill"
	if mid_write; then
		torn=$((torn + 1))
	fi

	# restart over whatever the dead daemon left (credfs mount clears it)
	n_prod=$(calls prod)
	n_dev=$(calls dev)
	out=$("$CREDFS" -c "$CFG" mount "$MNT" 2>&1) ||
		fail "round $i (killed after ${ms} ms): mount failed: $out"
	if ! cat "$MNT/credentials" >"$T/read" 2>"$T/read.err"; then
		fail "round $i (killed after ${ms} ms): read after restart failed: $(cat "$T/read.err")"
	fi
	read -r ak ak_dev ak_base < <(access_key_ids "$T/read")
	grep -q "^$ak " "$T/issued.prod" ||
		fail "round $i: prod served [$ak], not a key the provider issued"
	grep -q "^$ak_dev " "$T/issued.dev" ||
		fail "round $i: dev not served with an issued key"
	[ "$ak_base" = AKIAKILLNINETEST0001 ] ||
		fail "round $i: base (store entry) not served: $(cat "$T/read")"
	[ "$(calls prod)" = "$n_prod" ] && [ "$(calls dev)" = "$n_dev" ] ||
		fail "round $i (killed after ${ms} ms): the restarted daemon did not serve prod/dev from the sealed cache (provider called)"
	b=$(bad_files)
	[ -z "$b" ] || fail "round $i (killed after ${ms} ms): sealed files set aside: $b"
	if [ -n "$(audit_events integrity)" ]; then
		fail "round $i: integrity event: $(audit_events integrity | head -n 2)"
	fi
done
pass "$kills kills at random 0-300 ms: every restart served prod/dev/base from the sealed state, nothing set aside"
say "$torn of $kills kills landed in the middle of a sealed write (a temporary file left)"

check "after $ROUNDS kills"
lst=$("$CREDFS" -c "$CFG" store list 2>&1) || fail "credfs store list failed: $lst"
assert_contains "$lst" "aws-base: access_key_id, secret_access_key" "credfs store list works"
cat "$MNT/fast.json" >/dev/null || fail "fast.json cannot be read"
for p in prod dev base fast; do
	assert_eq "$(sm_status_field "$p" last_error)" "" "status: no error for $p"
done
n=$(find "$T/state" -name '*.sealed' | wc -l)
say "$n sealed files: $(cd "$T/state" && find . -name '*.sealed' | sort | tr '\n' ' ')"
tmp=$(find "$T/state" -name '*.tmp-*' | wc -l)
say "temporary files left by killed writes: $tmp"
[ -z "$(bad_files)" ] || fail "sealed files set aside: $(bad_files)"
pass "no sealed file was set aside"
n0=$(calls prod)
umount_credfs
mount_credfs
cat "$MNT/credentials" >/dev/null || fail "final read failed"
assert_eq "$(calls prod)" "$n0" "a clean restart still serves prod from the cache"
out=$("$CREDFS" -c "$CFG" audit verify 2>&1) || fail "audit verify after the kills: $out"
pass "the audit chain verifies after $kills kill -9s ($out)"
umount_credfs
sm_done
