#!/bin/bash
# A "container" (bwrap, own pid namespace, the mount bound at /root/.aws)
# whose cgroup v2 group a cgroup: rule admits reads; the same reader outside
# that group is refused.  The audit line carries the host pid (not the
# namespace's 1/2), the cgroup path and the exe.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pm_init container_cgroup "$@"
need_cmd bwrap
need_cgroup2

# ---- a cgroup v2 group of our own, removed at exit ----
CGDIR=$CG2/credfs-pm-$$
mkdir "$CGDIR" 2>/dev/null || skip "cannot create a cgroup under $CG2"
mkdir "$CGDIR/admitted"
cg_cleanup() {
	local g p
	for g in "$CGDIR/admitted" "$CGDIR"; do
		[ -d "$g" ] || continue
		[ -e "$g/cgroup.kill" ] && echo 1 >"$g/cgroup.kill" 2>/dev/null
		for p in $(cat "$g/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			rmdir "$g" 2>/dev/null && break
			sleep 0.1
		done
	done
}
pm_on_exit cg_cleanup

# What the kernel reports (and the rule matches) for a member of the group.
CGPATH=$(sh -c 'echo $$ >"$1/cgroup.procs" && sed -n "s/^0:://p" /proc/self/cgroup' _ "$CGDIR/admitted")
case "$CGPATH" in
/*/admitted) pass "a member of the group shows cgroup $CGPATH" ;;
*) fail "unexpected cgroup of a member: [$CGPATH]" ;;
esac
MYCG=$(sed -n 's/^0:://p' /proc/self/cgroup)
[ "$MYCG" != "$CGPATH" ] || fail "the test shell is already in $CGPATH"

pm_config "" "
[file credentials]
format = aws-credentials
profiles = prod
mode = 0444
allow = uid:0 exe:/usr/bin/cat cgroup:$CGPATH
deny = cgroup:$(dirname "$CGPATH")/**
"
mount_credfs

# container IN_GROUP OUTFILE: runs cat of /root/.aws/credentials in a pid
# namespace; waits on a FIFO so the host pid of the reader can be found
# first; sets HOSTPID, RC; output in OUTFILE.
container() {
	local in_group=$1 out=$2 fifo=$T/go.$RANDOM pid p i
	mkfifo "$fifo"
	(
		[ "$in_group" = yes ] && echo "$BASHPID" >"$CGDIR/admitted/cgroup.procs"
		exec bwrap --unshare-pid --dev-bind / / --proc /proc --tmpfs /root \
			--bind "$MNT" /root/.aws --chdir / \
			/bin/sh -c 'read _ <"$1"; exec /usr/bin/cat /root/.aws/credentials' \
			sh "$fifo"
	) >"$out" 2>"$out.err" &
	pid=$!
	HOSTPID=
	for _ in $(seq 100); do
		for p in $(pgrep -f -- "$fifo" || true); do
			# the reader: a shell inside the namespace (NSpid has two ids)
			if grep -qE '^NSpid:[[:space:]]+[0-9]+[[:space:]]+[0-9]+$' "/proc/$p/status" 2>/dev/null &&
				[ "$(cat "/proc/$p/comm" 2>/dev/null)" = sh ]; then
				HOSTPID=$p
			fi
		done
		[ -n "$HOSTPID" ] && break
		sleep 0.05
	done
	[ -n "$HOSTPID" ] || fail "cannot find the reader inside bwrap"
	NSPID=$(awk '/^NSpid:/ { print $3 }' "/proc/$HOSTPID/status")
	READER_CG=$(sed -n 's/^0:://p' "/proc/$HOSTPID/cgroup")
	echo go >"$fifo"
	set +e
	wait "$pid"
	RC=$?
	set -e
	rm -f "$fifo"
}

check "a reader in the admitted group, inside the container, reads"
container yes "$T/in.out"
assert_eq "$READER_CG" "$CGPATH" "the container's reader is in the admitted group"
[ "$HOSTPID" != "$NSPID" ] || fail "host pid equals namespace pid ($NSPID)"
[ "$RC" = 0 ] || fail "the admitted container reader failed (rc $RC): $(cat "$T/in.out.err")"
assert_contains "$(cat "$T/in.out")" "$PM_AK" "the admitted container reader got the credentials"
assert_line "j['event']=='open' and j['decision']=='allow' and j['pid']==$HOSTPID" \
	"an allow line with the host pid $HOSTPID (namespace pid $NSPID)"
L=$PM_LAST_LINE
assert_eq "$(json_get "$L" 'j["tid"]')" "$HOSTPID" "tid is the host tid"
assert_eq "$(json_get "$L" 'j["cgroup"]')" "$CGPATH" "the line carries the cgroup"
assert_eq "$(json_get "$L" 'j["exe"]')" /usr/bin/cat "the line carries the exe"
assert_eq "$(json_get "$L" 'j["rule"]')" "allow uid:0 exe:/usr/bin/cat cgroup:$CGPATH" "the line names the cgroup rule"
assert_eq "$(count_lines "j['event']=='open' and j['pid'] in (1, 2, $NSPID)")" 0 "no line carries a namespace pid"

check "the same reader outside the group is refused"
container no "$T/out.out"
assert_eq "$READER_CG" "$MYCG" "this reader stays in the test's cgroup"
[ "$RC" != 0 ] || fail "the reader outside the group was served: $(cat "$T/out.out")"
assert_eq "$(cat "$T/out.out")" "" "nothing served outside the group"
assert_contains "$(cat "$T/out.out.err")" "Permission denied" "cat got EACCES"
assert_line "j['event']=='open' and j['decision']=='deny' and j['pid']==$HOSTPID" \
	"a deny line with the host pid $HOSTPID"
L=$PM_LAST_LINE
assert_eq "$(json_get "$L" 'j["cgroup"]')" "$MYCG" "the deny line carries the reader's cgroup"
assert_eq "$(json_get "$L" 'j["rule"]')" "default: no rule matched" "no rule admitted it"
assert_eq "$(json_get "$L" 'j["exe"]')" /usr/bin/cat "the deny line carries the exe"

check "a host reader outside the group is refused too"
assert_denied "host cat outside the group gets EACCES" /usr/bin/cat "$MNT/credentials"

check "a sibling group under the same parent hits the deny rule"
mkdir "$CGDIR/other"
run_rc sh -c 'echo $$ >"$1/cgroup.procs" && exec /usr/bin/cat "$2"' _ "$CGDIR/other" "$MNT/credentials"
[ "$RC" != 0 ] && [ -z "$OUT" ] || fail "a reader in $CGDIR/other was served"
assert_line "j['event']=='open' and j['decision']=='deny' and j['cgroup']=='$(dirname "$CGPATH")/other'" \
	"a deny line for the sibling group"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["rule"]')" "deny cgroup:$(dirname "$CGPATH")/**" "the ** rule decided it"
rmdir "$CGDIR/other" 2>/dev/null || true

assert_no_secrets
say "all passed"
