#!/bin/bash
# A caller the daemon cannot identify is refused and audited.  The daemon
# runs in a pid namespace of its own (the mount stays in the host's mount
# namespace): the kernel then reports pid 0 for a caller outside it, which
# must be denied as "unidentified caller" even when a rule would admit it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pm_init unidentified "$@"
need_cmd unshare

pm_config "" "
[file credentials]
format = aws-credentials
profiles = prod
allow = uid:0
"
# A daemon in a pid namespace that still sees the host's /proc would look
# callers up under the wrong pids: it refuses to mount, and says why.
set +e
unshare --pid --fork "$CREDFS" -c "$CFG" mount -f "$MNT" >"$T/daemon.out" 2>&1
rc=$?
set -e
[ "$rc" != 0 ] || fail "a daemon with a foreign /proc mounted"
grep -q "/proc is not this pid namespace's" "$T/daemon.out" ||
	fail "no clear reason: $(cat "$T/daemon.out")"
if is_mounted "$MNT"; then fail "something is mounted at $MNT"; fi
pass "a daemon with another namespace's /proc refuses to mount"

# With its own /proc (and so its own mount namespace) the daemon serves
# from inside a pid namespace; a host process entering that mount
# namespace is outside the daemon's pid namespace, pid 0 to the request,
# and is refused even though `allow = uid:0` would admit it.
cat >"$T/inner.sh" <<INNER
set -e
"$CREDFS" -c "$CFG" mount "$MNT"
touch "$T/ready"
while [ ! -e "$T/done" ]; do sleep 0.1; done
"$CREDFS" -c "$CFG" umount "$MNT"
INNER
unshare --pid --fork --mount --mount-proc --propagation private \
	bash "$T/inner.sh" >"$T/inner.out" 2>&1 &
NSPID=$!
_LIB_PIDS+=("$NSPID")
wait_until 20 test -e "$T/ready" || fail "inner mount never came up: $(cat "$T/inner.out")"
set +e
nsenter --mount=/proc/$NSPID/ns/mnt -- /usr/bin/cat "$MNT/credentials" >"$T/cat.out" 2>"$T/cat.err"
rc=$?
set -e
touch "$T/done"
wait "$NSPID" || true
[ "$rc" != 0 ] || fail "a caller outside the daemon's pid namespace was served"
grep -q "Permission denied" "$T/cat.err" || fail "expected EACCES: $(cat "$T/cat.err")"
[ ! -s "$T/cat.out" ] || fail "bytes were served"
pass "a caller outside the daemon's pid namespace (pid 0) is refused"
assert_line "j['event']=='open' and j['decision']=='deny'" "a deny line"
L=$PM_LAST_LINE
assert_eq "$(json_get "$L" 'j["rule"]')" "unidentified caller" "rule: unidentified caller"
assert_eq "$(json_get "$L" 'j["uid"]')" 0 "the line still carries the uid"
assert_eq "$(json_get "$L" 'j["pid"] in (0, None) and j["exe"] in ("", None)')" True "the line carries no borrowed pid or exe"
assert_eq "$(json_get "$L" 'len(j.get("key_ids") or [])')" 0 "no key id"
assert_eq "$(count_lines "j['event']=='open' and j['decision']=='allow'")" 0 "nothing allowed"

assert_no_secrets "$T/state/audit.log" "$T/daemon.out"
say "all passed"
