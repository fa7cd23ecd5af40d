#!/bin/bash
# Soak (issue 14): for $CREDFS_SOAK_SECONDS (default 60) readers of two uids
# (root and credfs-test) through allowed and denied executables, a profile
# refreshing every few seconds (exec helper, 8 s credentials), the audit log
# rotating, and control-socket clients.  Asserts: no error for an allowed
# reader, every open audited (allow and deny lines match the readers'
# counts), the chain verifies across segments, and the daemon's RSS, fds
# and threads flat (printed at start and end).  $1: credfs.
set -euo pipefail
. "$(dirname "$0")/../policy-mount/lib.sh"
pm_init soak "$@"
pm_fuse_allow_other
ensure_test_user
SECS=${CREDFS_SOAK_SECONDS:-60}

cat >"$T/short.sh" <<'H'
#!/bin/sh
exp=$(date -u -d '+8 seconds' +%Y-%m-%dT%H:%M:%SZ)
printf '{"Version": 1, "AccessKeyId": "ASIASOAKTEST00001", "SecretAccessKey": "soak-s", "SessionToken": "soak-t", "Expiration": "%s"}\n' "$exp"
H
chmod 755 "$T/short.sh"
pm_config "allow_other = yes
refresh_before = 2s
audit_max_size = 8K" "
[profile soak]
provider = exec
command = $T/short.sh

[file credentials]
format = aws-credentials
profiles = soak
mode = 0444
allow = uid:0 exe:/usr/bin/cat
allow = uid:$TEST_UID exe:/usr/bin/cat
deny = exe:/usr/bin/head
"
mount_credfs
F=$MNT/credentials
cat "$F" >/dev/null
PID=$(daemon_pid)
W=$T/work
mkdir -p "$W"
chmod 777 "$W"

# rss_kb, fds other than pidfds, threads, pidfds (the caller identity
# cache keeps one per cached caller, at most 64 by design: bounded, so
# counted apart).
measure() {
	local rss thr fds pfd
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$PID/status")
	thr=$(awk '/^Threads/ {print $2}' "/proc/$PID/status")
	pfd=$(find "/proc/$PID/fd" -mindepth 1 -lname 'anon_inode:*pidfd*' 2>/dev/null | wc -l)
	fds=$(( $(ls "/proc/$PID/fd" | wc -l) - pfd ))
	echo "$rss $fds $thr $pfd"
}

END=$(( $(date +%s) + SECS ))
# reader NAME CMD...: counts served and failed opens until END.
cat >"$W/reader.sh" <<'R'
#!/bin/bash
name=$1 end=$2 f=$3 mode=$4
shift 4
ok=0 bad=0
while [ "$(date +%s)" -lt "$end" ]; do
	if out=$("$@" "$f" 2>/dev/null) && [[ $out == *ASIASOAKTEST00001* ]]; then
		ok=$((ok + 1))
	else
		bad=$((bad + 1))
	fi
	sleep 0.02
done
echo "$ok $bad" >"$(dirname "$0")/$name.count"
R
chmod 755 "$W/reader.sh"

sleep 2
START=$(measure)
"$W/reader.sh" root_cat "$END" "$F" allow /usr/bin/cat &
"$W/reader.sh" root_cat2 "$END" "$F" allow /usr/bin/cat &
"$W/reader.sh" root_head "$END" "$F" deny /usr/bin/head -n 50 &
run_as_user "$W/reader.sh" user_cat "$END" "$F" allow /usr/bin/cat &
run_as_user "$W/reader.sh" user_py "$END" "$F" deny /usr/bin/python3 -c 'import sys; print(open(sys.argv[1]).read())' &
(
	ok=0 bad=0
	while [ "$(date +%s)" -lt "$END" ]; do
		if "$CREDFS" -c "$CFG" status --json >/dev/null 2>&1; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
		sleep 0.2
	done
	echo "$ok $bad" >"$W/ctl.count"
) &
wait
# Releases and control connections end asynchronously: let them settle.
sleep 3
END_M=$(measure)

read -r rc_ok rc_bad <"$W/root_cat.count"
read -r rc2_ok rc2_bad <"$W/root_cat2.count"
read -r uc_ok uc_bad <"$W/user_cat.count"
read -r rh_ok rh_bad <"$W/root_head.count"
read -r up_ok up_bad <"$W/user_py.count"
read -r ctl_ok ctl_bad <"$W/ctl.count"
say "served: root cat $rc_ok+$rc2_ok (failed $rc_bad+$rc2_bad), credfs-test cat $uc_ok (failed $uc_bad)"
say "denied: root head $rh_bad (served $rh_ok), credfs-test python3 $up_bad (served $up_ok); status calls $ctl_ok (failed $ctl_bad)"
[ "$rc_bad" = 0 ] && [ "$rc2_bad" = 0 ] && [ "$uc_bad" = 0 ] ||
	fail "an allowed reader failed: root $rc_bad+$rc2_bad, credfs-test $uc_bad"
[ "$rh_ok" = 0 ] && [ "$up_ok" = 0 ] || fail "a denied reader was served"
[ "$ctl_bad" = 0 ] || fail "$ctl_bad status calls failed"
[ "$((rc_ok + rc2_ok + uc_ok))" -ge 10 ] || fail "too few reads to call it a soak"

LOGDIR=$(dirname "$(audit_log)")
ALL=$T/all.log
NSEG=0
: >"$ALL"
for seg in $(ls "$LOGDIR" | grep -E '^audit\.log\.seg-[0-9]+$' | sort || true); do
	cat "$LOGDIR/$seg" >>"$ALL"
	NSEG=$((NSEG + 1))
done
cat "$(audit_log)" >>"$ALL"
count() { "$PY" - "$ALL" "$1" <<'PY'
import json, sys
n = 0
for l in open(sys.argv[1]):
    j = json.loads(l)
    if eval(sys.argv[2]):
        n += 1
print(n)
PY
}
allow=$(count "j['event']=='open' and j['decision']=='allow'")
deny=$(count "j['event']=='open' and j['decision']=='deny'")
refresh=$(count "j['event']=='refresh'")
say "audit: $allow allow, $deny deny, $refresh refresh lines, $NSEG rotated segments"
# +1: the warm-up read before the readers started
[ "$allow" = $((rc_ok + rc2_ok + uc_ok + 1)) ] ||
	fail "allow lines $allow != served opens $((rc_ok + rc2_ok + uc_ok + 1))"
[ "$deny" = $((rh_bad + up_bad)) ] || fail "deny lines $deny != denied opens $((rh_bad + up_bad))"
[ "$refresh" -ge $((SECS / 8)) ] || fail "only $refresh refreshes in $SECS s"
out=$("$CREDFS" -c "$CFG" audit verify 2>&1) || fail "audit verify: $out"
say "verify: $out"

read -r r0 f0 t0 p0 <<<"$START"
read -r r1 f1 t1 p1 <<<"$END_M"
say "daemon pid $PID: RSS ${r0} -> ${r1} kB, fds $f0 -> $f1 (+ caller pidfds $p0 -> $p1), threads $t0 -> $t1"
[ "$p1" -le 64 ] || fail "caller pidfds beyond the identity cache's 64: $p1"
[ "$r1" -le $((r0 + r0 / 5 + 8192)) ] || fail "RSS grew: $r0 -> $r1 kB"
[ "$f1" -le $((f0 + 4)) ] || fail "fds grew: $f0 -> $f1: $(ls -l "/proc/$PID/fd" | tail -n +2 | awk '{print $NF}' | sort | uniq -c | sort -rn | head -5 | tr '\n' ' ')"
[ "$t1" -le $((t0 + 4)) ] || fail "threads grew: $t0 -> $t1"
umount_credfs
say "all passed"
