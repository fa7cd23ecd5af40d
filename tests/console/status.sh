#!/bin/bash
# credfs status for people: an aligned table with relative expiry ("in
# 59m", "expired 2s ago"), the state with the reason of a failing profile,
# the files of each profile; colour on a terminal only, none with NO_COLOR
# or when piped; --json as before; no daemon: the documented message.
#
#   status.sh CREDFS
set -euo pipefail
. "$(dirname "$0")/../mount/lib.sh"
lib_init status "$@"
need_cmd script

printf '%s\n' '#!/bin/sh' '# one 4-second token, then the source is down' \
	"if [ -e '$T/short.done' ]; then echo 'upstream is down' >&2; exit 4; fi" \
	"touch '$T/short.done'" \
	"printf '{\"token\": \"short-lived-value\", \"expires_in\": 4}'" >"$T/short.sh"
chmod 755 "$T/short.sh"
write_config "[profile short]
provider = exec
command = $T/short.sh

[profile idle]
provider = exec
command = printf '{\"token\": \"idle\", \"expires_in\": 3600}'

[profile slow]
provider = exec
command = sleep 3; printf '{\"token\": \"slow\", \"expires_in\": 3600}'

[file short.json]
format = json
profiles = short"

check "no daemon: the documented message, exit 1"
set +e
out=$("$CREDFS" -c "$CFG" status 2>&1)
rc=$?
set -e
assert_eq "$rc" 1 "exit 1"
assert_eq "$out" "credfs: status: no daemon is running for $CFG (run \`credfs mount\`)" "says to mount"

mount_credfs
cat "$MNT/credentials" >/dev/null
"$CREDFS" -c "$CFG" refresh short >/dev/null

check "piped: plain, aligned, relative times"
st=$("$CREDFS" -c "$CFG" status)
printf '%s\n' "$st" | sed 's/^/  | /'
assert_not_contains "$st" $'\033' "no escape sequence when piped"
assert_match "$st" "prod +exec +fresh +in (5[0-9]m|1h) +[0-9]+s ago +credentials, process/prod.json" "prod: fresh, in about an hour, refreshed seconds ago, its two files"
assert_match "$st" "base +aws-static +fresh +never " "base: long-lived keys never expire"
assert_match "$st" "idle +exec +not fetched yet +- +- +-" "idle: not fetched, in no file"
assert_match "$st" "short +exec +fresh +in [1-4]s " "short: fresh, seconds left"
# every column starts where its header does
"$PY" - "$st" <<'PY' || fail "the profile table is not aligned"
import re, sys
lines = sys.argv[1].splitlines()
h = next(i for i, l in enumerate(lines) if l.startswith("PROFILE"))
starts = [m.start() for m in re.finditer(r"\S+", lines[h])]
rows = []
for l in lines[h + 1:]:
    if not l.strip() or "  failing:" in l:
        break
    rows.append(l)
assert len(rows) == 5, rows
for l in rows:
    for s in starts[1:]:
        assert l[s - 2:s] == "  " and l[s] != " ", (l, s)
PY
pass "columns aligned with the header"

check "expired and failing: how long ago, and why"
sleep 5
st=$("$CREDFS" -c "$CFG" status)
printf '%s\n' "$st" | sed 's/^/  | /'
assert_match "$st" "short +exec +failing +(expired [0-9]+s ago|-) " "short: failing"
assert_contains "$st" "short  failing: command exited with status 4: upstream is down" "the reason below the table"
# The failing profile is retried with backoff; a read during a retry says
# "refreshing": read again until no retry is in flight (bounded).
short_state() { json_get "$j" '[p["state"] for p in j["profiles"] if p["profile"] == "short"][0]'; }
for _ in $(seq 50); do
	j=$(status_json)
	[ "$(short_state)" != refreshing ] && break
	sleep 0.1
done
assert_eq "$(short_state)" failed "--json: state failed, as before"
assert_match "$(json_get "$j" '[p["last_refresh"] for p in j["profiles"] if p["profile"] == "prod"][0]')" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "--json: absolute RFC 3339 times, as before"

check "a terminal: coloured; NO_COLOR: plain"
tty=$(script -qec "'$CREDFS' -c '$CFG' status" /dev/null)
assert_contains "$tty" $'\033[32mfresh\033[0m' "fresh in green"
assert_contains "$tty" $'\033[31mfailing\033[0m' "failing in red"
assert_contains "$tty" $'\033[1mPROFILE\033[0m' "the header bold"
tty=$(NO_COLOR=1 script -qec "'$CREDFS' -c '$CFG' status" /dev/null)
assert_not_contains "$tty" $'\033' "NO_COLOR=1: no escape sequence"
assert_contains "$tty" "fresh" "(still the table)"
tty=$(NO_COLOR='' script -qec "'$CREDFS' -c '$CFG' status" /dev/null)
assert_contains "$tty" $'\033[32m' "NO_COLOR empty: colour (no-color.org)"

check "refresh and login wait with a countdown on a terminal, quietly when piped"
out=$(script -qec "'$CREDFS' -c '$CFG' refresh slow" /dev/null)
assert_match "$out" "slow: waiting \([0-9]+s left\)" "a countdown while the provider works"
assert_contains "$out" "slow: refreshed" "then the result"
assert_contains "$out" $'\r\033[K' "the countdown line is cleared"
out=$("$CREDFS" -c "$CFG" refresh slow 2>&1)
assert_eq "$out" "slow: refreshed" "piped: no countdown"

check "status takes only --json"
set +e
out=$("$CREDFS" -c "$CFG" status --bogus 2>&1)
rc=$?
set -e
assert_eq "$rc" 2 "an unknown option: exit 2"
assert_contains "$out" "usage: credfs status [--json]" "with the usage"
say "all passed"
