#!/bin/bash
# Every credfs process may hold a secret: `credfs store add` waiting for
# its FIELD=VALUE lines is not dumpable (no core file on SIGSEGV/SIGABRT,
# RLIMIT_CORE 0) and its /proc/PID/mem cannot be opened by its own uid,
# from the first instruction (a constructor), not only the daemon.  And a
# command run without a config says what to do next.  TAP.  $1: credfs.
set -u

CREDFS=$(readlink -f "${1:-}")
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
finish() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit $?
}
if [ ! -x "$CREDFS" ]; then
	not_ok "credfs binary given as \$1"
	finish
fi

T=$(mktemp -d /tmp/credfs-harden.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
export CREDFS_KDF=min CREDFS_KEYRING=off

# ---- no config: what to do next ----
mkdir -p "$T/home"
for cmd in "mount $T/mnt" "store import-aws" "status" "exec p -- true"; do
	# shellcheck disable=SC2086
	out=$(env -u CREDFS_CONFIG HOME="$T/home" XDG_CONFIG_HOME= \
		"$CREDFS" $cmd 2>&1 >/dev/null)
	rc=$?
	want="$T/home/.config/credfs/config"
	check "credfs $cmd without a config exits 2" [ "$rc" = 2 ]
	check "credfs $cmd names the config it looked for" \
		grep -qF "config $want does not exist" <<<"$out"
	check "credfs $cmd names an example to copy" \
		grep -qE "cp examples/[a-z-]+\.conf $want" <<<"$out"
	check "credfs $cmd offers credfs demo" grep -qF "credfs demo" <<<"$out"
done
out=$("$CREDFS" -c "$T/nope/cfg" check 2>&1)
check "check -c MISSING keeps the FILE: cause line first" \
	grep -qx "$T/nope/cfg: cannot read config: No such file or directory" <<<"$out"
check "check -c MISSING names that path" grep -qF "config $T/nope/cfg does not exist" <<<"$out"

# ---- store add cannot dump core ----
# As root, the process runs as another uid (root may read any
# /proc/PID/mem); otherwise as ourselves.
RUN=()
if [ "$(id -u)" = 0 ]; then
	U=${CREDFS_TEST_USER:-credfs-test}
	if ! id "$U" >/dev/null 2>&1; then
		useradd --create-home --shell /bin/bash "$U" 2>/dev/null
	fi
	if id "$U" >/dev/null 2>&1; then
		RUN=(setpriv --reuid="$(id -u "$U")" --regid="$(id -g "$U")" --init-groups)
		chown "$U" "$T"
	else
		not_ok "test user $U exists (root could read any /proc/PID/mem)"
		finish
	fi
fi
as_user() { "${RUN[@]}" "$@"; }

S=$T/state
as_user mkdir -p "$S" "$T/cwd"
as_user sh -c "printf '[credfs]\nstate_dir = %s\nkey = keyfile:%s/key\n' '$S' '$S' >'$T/config'"
mkfifo "$T/in"
chmod 666 "$T/in"

# start_waiting: `credfs store add` in $T/cwd, blocked reading stdin (a
# fifo we hold open); its pid in $pid.
start_waiting() {
	# Under AddressSanitizer the deliberate signals must reach the kernel's
	# default action (the core dump being tested), not ASan's report.
	(cd "$T/cwd" && ulimit -c unlimited &&
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0:handle_abort=0" \
			exec "${RUN[@]}" "$CREDFS" -c "$T/config" store add e1 secret_access_key <"$T/in" >/dev/null 2>&1) &
	pid=$!
	PIDS+=("$pid")
	exec 7>"$T/in"
	for _ in $(seq 50); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$CREDFS" ] && break
		grep -q "^Name:.*credfs" "/proc/$pid/status" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.3
}

# A control: an ordinary process of the same uid in the same directory
# with the same limits does dump core and can have its memory opened, so
# the checks below can fail.
(cd "$T/cwd" && ulimit -c unlimited && exec "${RUN[@]}" sleep 60) &
ctl=$!
PIDS+=("$ctl")
sleep 0.3
ctl_mem=$(as_user sh -c "head -c0 /proc/$ctl/mem 2>/dev/null && echo open || echo refused")
check "control: a plain process's /proc/PID/mem opens for its uid" [ "$ctl_mem" = open ]
kill -SEGV "$ctl"
wait "$ctl" 2>/dev/null
sleep 0.5
ctl_core=$(find "$T/cwd" -name 'core*' | head -1)
if [ -z "$ctl_core" ]; then
	# core_pattern may pipe elsewhere (systemd-coredump, apport)
	if [ "${CI:-}" = true ]; then
		not_ok "control: a plain process dumps core in its cwd (core_pattern: $(cat /proc/sys/kernel/core_pattern))"
	else
		echo "# core_pattern is $(cat /proc/sys/kernel/core_pattern): no core file to compare with; the rlimit and dumpable checks still run"
	fi
else
	ok "control: a plain process dumps core ($ctl_core)"
	rm -f "$ctl_core"
fi

start_waiting
check "store add is running and waiting for input" kill -0 "$pid"
check "store add: RLIMIT_CORE is 0 (soft and hard)" \
	grep -qE '^Max core file size +0 +0 ' "/proc/$pid/limits"
mem=$(as_user sh -c "head -c0 /proc/$pid/mem 2>/dev/null && echo open || echo refused")
check "store add: /proc/PID/mem is refused to its own uid" [ "$mem" = refused ]
environ=$(as_user sh -c "head -c1 /proc/$pid/environ >/dev/null 2>&1 && echo open || echo refused")
check "store add: /proc/PID/environ is refused to its own uid" [ "$environ" = refused ]
kill -SEGV "$pid"
wait "$pid" 2>/dev/null
exec 7>&-
sleep 0.5
check "store add killed by SIGSEGV left no core file" \
	[ -z "$(find "$T/cwd" -name 'core*')" ]

start_waiting
kill -ABRT "$pid"
wait "$pid" 2>/dev/null
exec 7>&-
sleep 0.5
check "store add killed by SIGABRT left no core file" \
	[ -z "$(find "$T/cwd" -name 'core*')" ]

# exec gives the command the core limit it had: hardening is credfs's own.
finish
