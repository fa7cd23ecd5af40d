#!/bin/bash
# No secret (a stored secret_access_key, served session tokens and secret
# keys) appears raw, hex or base64 anywhere under state_dir, in credfs.log,
# the audit log, status output or any command's output; the daemon makes no
# core dump, and its memory cannot be read or traced by its own uid.
set -euo pipefail
. "$(dirname "$0")/smlib.sh"
lib_init no_leak "$@"
SCAN="$PY $(dirname "$(readlink -f "$0")")/leakscan.py"

sm_helper "$T/helper.sh"
write_cfg() { # CONFIG STATE_DIR HELPER
	cat >"$1" <<EOF
[credfs]
state_dir = $2
key = keyfile:$2/key

[profile prod]
provider = exec
command = $3 prod

[profile base]
provider = aws-static
secret = aws-base

[file credentials]
format = aws-credentials
profiles = prod base

[file process/prod.json]
format = aws-process
profiles = prod

[file env]
format = env
profiles = prod
EOF
	chmod 600 "$1"
}
write_cfg "$CFG" "$T/state" "$T/helper.sh"
BASE_SK=$(head -c 30 /dev/urandom | base64 -w0) # 40 characters
O=$T/outputs
mkdir "$O"
run() { # NAME CMD...: records stdout+stderr of a credfs command
	local name=$1
	shift
	"$@" >"$O/$name" 2>&1 || echo "(exit $?)" >>"$O/$name"
}

check "plant a secret, serve session tokens, run every command"
printf 'access_key_id=AKIANOLEAKTEST000001\nsecret_access_key=%s\n' "$BASE_SK" |
	run store-add "$CREDFS" -c "$CFG" store add aws-base
assert_contains "$(cat "$O/store-add")" "stored aws-base" "store add"
run check "$CREDFS" -c "$CFG" check
_LIB_MOUNTS+=("$MNT")
run mount "$CREDFS" -c "$CFG" mount "$MNT"
is_mounted "$MNT" || fail "mount failed: $(cat "$O/mount")"
_LIB_PIDS+=("$(daemon_pid)")
cat "$MNT/credentials" >"$T/served.1" || fail "read failed"
cat "$MNT/process/prod.json" >/dev/null || fail "read process/prod.json failed"
assert_eq "$(aws_field "$T/served.1" base aws_secret_access_key)" "$BASE_SK" "the planted secret is served"
assert_eq "$(aws_field "$T/served.1" prod aws_session_token)" "$(last_tok prod)" "the session token is served"
run refresh "$CREDFS" -c "$CFG" refresh prod
cat "$MNT/env" >/dev/null || fail "read env failed"
run status "$CREDFS" -c "$CFG" status
run status-json "$CREDFS" -c "$CFG" status --json
run store-list "$CREDFS" -c "$CFG" store list
run exec "$CREDFS" -c "$CFG" exec prod -- true
run audit-verify "$CREDFS" -c "$CFG" audit verify
run audit-tail "$CREDFS" -c "$CFG" audit tail
run audit-report "$CREDFS" -c "$CFG" audit report
run lock "$CREDFS" -c "$CFG" lock
run unlock "$CREDFS" -c "$CFG" unlock
run revoke "$CREDFS" -c "$CFG" revoke prod
cat "$MNT/credentials" >/dev/null || fail "read after revoke failed"
# a failure that names the store entry in errors and status
cp "$T/state/store/aws-base.sealed" "$T/aws-base.sealed.keep"
"$PY" -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' \
	"$T/state/store/aws-base.sealed"
"$CREDFS" -c "$CFG" refresh base >"$O/refresh-bad" 2>&1 || true
run status-bad "$CREDFS" -c "$CFG" status
run status-json-bad "$CREDFS" -c "$CFG" status --json
cat "$MNT/credentials" >"$T/served.2" || true # served content: not scanned
run umount "$CREDFS" -c "$CFG" umount "$MNT"
is_mounted "$MNT" && fail "umount left the mount"
[ -n "$(bad_files "$T/state/store")" ] ||
	fail "the corrupted store entry was not set aside (the scan would miss that path)"
[ "$(wc -l <"$T/issued.prod")" -ge 3 ] || fail "expected at least 3 issued prod credentials"

# the secrets: the planted one, and every secret key and token issued
{
	printf 'store aws-base secret_access_key\t%s\n' "$BASE_SK"
	i=0
	while read -r _ sk tok _; do
		i=$((i + 1))
		printf 'prod#%d SecretAccessKey\t%s\n' "$i" "$sk"
		printf 'prod#%d SessionToken\t%s\n' "$i" "$tok"
	done <"$T/issued.prod"
} >"$T/secrets"
say "$(wc -l <"$T/secrets") secrets, $(ls "$O" | wc -l) command outputs"

check "scan state_dir (recursively, binary), credfs.log, the audit log, command outputs"
[ -s "$T/state/audit.log" ] || fail "no audit log at $T/state/audit.log"
[ -f "$T/state/credfs.log" ] || fail "no credfs.log"
say "state_dir: $(cd "$T/state" && find . -type f | sort | tr '\n' ' ')"
out=$($SCAN "$T/secrets" "$T/state" "$O") || fail "secrets found: $out"
pass "${out##*$'\n'}"
# the scanner must be able to find them: the served file has them
out=$($SCAN "$T/secrets" "$T/served.1") && fail "the scanner misses secrets in the served file: $out"
pass "control: the scanner finds the secrets in the served file"

# ---- a separate daemon: core dumps ----
check "core dump attempt on a separate daemon started with ulimit -c unlimited"
pattern=$(cat /proc/sys/kernel/core_pattern)
say "core_pattern: $pattern; suid_dumpable: $(cat /proc/sys/fs/suid_dumpable 2>/dev/null)"
B=$T/b
mkdir -p "$B/mnt" "$B/state" "$B/cwd"
chmod 700 "$B/state"
write_cfg "$B/config" "$B/state" "$T/helper.sh"
printf 'access_key_id=AKIANOLEAKTEST000001\nsecret_access_key=%s\n' "$BASE_SK" |
	"$CREDFS" -c "$B/config" store add aws-base >/dev/null || fail "store add (b) failed"
_LIB_MOUNTS+=("$B/mnt")
# Under AddressSanitizer the deliberate SIGSEGV below must reach the
# kernel's default action (the core dump being tested), not ASan's report.
(ulimit -c unlimited && cd "$B/cwd" &&
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0" \
		"$CREDFS" -c "$B/config" mount "$B/mnt") ||
	fail "mount of the second daemon failed"
bpid=$(daemon_pid "$B/config")
_LIB_PIDS+=("$bpid")
cat "$B/mnt/credentials" >/dev/null || fail "read (b) failed"
printf 'prod(b) SessionToken\t%s\n' "$(last_tok prod)" >>"$T/secrets"
lim=$(grep '^Max core file size' "/proc/$bpid/limits")
assert_match "$lim" '^Max core file size +0 +0 ' "the daemon's RLIMIT_CORE is 0 ($(echo $lim))"
owner=$(stat -c %U:%G "/proc/$bpid/mem")
assert_eq "$owner" root:root "/proc/PID/mem of a non-dumpable daemon belongs to root"
cores_before=$(ls -d /core* "$B"/cwd/core* "$B"/state/core* 2>/dev/null | sort || true)
# control: the same start with a dumpable process produces a core here?
control=none
case "$pattern" in
'|'*) say "NOTE: core_pattern pipes to a handler ($pattern): cores go there, not to files" ;;
*)
	mkdir "$B/ctl"
	(ulimit -c unlimited && cd "$B/ctl" && exec sleep 30) &
	cpid=$!
	sleep 0.2
	kill -SEGV "$cpid"
	wait "$cpid" 2>/dev/null || true
	if wait_until 3 sh -c "ls '$B'/ctl/core* >/dev/null 2>&1"; then
		control=yes
		rm -f "$B"/ctl/core*
	else
		control=no
		say "NOTE: a dumpable control process made no core file here either"
	fi
	;;
esac
say "control (dumpable sleep, same ulimit) dumped core: $control"
kill -SEGV "$bpid"
wait_until 5 sh -c "! grep -q '^State:[[:space:]]*[RSD]' /proc/$bpid/status 2>/dev/null" ||
	fail "the daemon survived SIGSEGV"
sleep 1
cores_after=$(ls -d /core* "$B"/cwd/core* "$B"/state/core* 2>/dev/null | sort || true)
if [ "$cores_after" != "$cores_before" ]; then
	new=$(comm -13 <(printf '%s\n' "$cores_before") <(printf '%s\n' "$cores_after"))
	leak=$($SCAN "$T/secrets" $new || true)
	rm -f $new
	fail "SIGSEGV of the daemon produced a core file: $new; $leak"
fi
pass "no core file in / (the daemon's cwd), $B/cwd or its state_dir after SIGSEGV"
fusermount3 -u -z "$B/mnt" 2>/dev/null || true

# ---- same-uid access to the daemon's memory ----
check "the daemon's memory is closed to another process of its own uid"
if [ "$(id -u)" != 0 ]; then
	skip "needs root to run a daemon as the test user"
fi
need_cmd setpriv
if [ "${CI:-}" = true ]; then
	need_cmd strace
	need_cmd gdb
fi
ensure_test_user
[ -u "$(command -v fusermount3)" ] || skip "fusermount3 is not setuid root"
[ -d "$TEST_HOME" ] || skip "$TEST_USER has no home directory"
mkdir "$T/bin"
cp "$CREDFS" "$T/bin/credfs"
chmod 755 "$T/bin" "$T/bin/credfs"
U=$(mktemp -d "$TEST_HOME/credfs-mt-no_leak.XXXXXX")
_LIB_DIRS+=("$U")
mkdir -p "$U/mnt" "$U/state"
sm_helper "$U/helper.sh" "$U"
write_cfg "$U/config" "$U/state" "$U/helper.sh"
chown -R "$TEST_UID:$TEST_GID" "$U"
chmod 700 "$U" "$U/state"
ucred() { run_as_user env CREDFS_KEYRING=off "$T/bin/credfs" -c "$U/config" "$@"; }
printf 'access_key_id=AKIANOLEAKTEST000001\nsecret_access_key=%s\n' "$BASE_SK" |
	ucred store add aws-base >/dev/null || fail "store add as $TEST_USER failed"
_LIB_MOUNTS+=("$U/mnt")
out=$(ucred mount "$U/mnt" 2>&1) || fail "mount as $TEST_USER failed: $out"
upid=$(json_get "$(ucred status --json)" 'j["pid"]')
_LIB_PIDS+=("$upid")
run_as_user cat "$U/mnt/credentials" >/dev/null || fail "read as $TEST_USER failed"
assert_eq "$(stat -c %u "/proc/$upid")" "$TEST_UID" "the daemon runs as $TEST_USER"
# control: an ordinary process of the same user
run_as_user sh -c "echo \$\$ >$U/ctl.pid; exec sleep 60" 2>/dev/null &
disown $!
wait_until 3 test -s "$U/ctl.pid" || true
ctl=$(cat "$U/ctl.pid" 2>/dev/null || true)
[ -n "$ctl" ] && _LIB_PIDS+=("$ctl")
cat >"$T/peek.py" <<'PYEOF'
import errno, os, sys
pid = sys.argv[1]
for name in ("mem", "environ", "maps"):
    try:
        with open("/proc/%s/%s" % (pid, name), "rb") as f:
            f.read(16)
        print(name, "READABLE")
    except OSError as e:
        print(name, errno.errorcode.get(e.errno, e.errno))
PYEOF
chmod 644 "$T/peek.py"
res=$(run_as_user python3 "$T/peek.py" "$upid")
say "daemon /proc files as $TEST_USER: $(echo $res)"
assert_not_contains "$res" "mem READABLE" "/proc/PID/mem is not readable by the same uid"
assert_not_contains "$res" "environ READABLE" "/proc/PID/environ is not readable by the same uid"
if [ -n "$ctl" ]; then
	cres=$(run_as_user python3 "$T/peek.py" "$ctl")
	assert_contains "$cres" "environ READABLE" "control: an ordinary process's environ is readable by its uid"
fi
if command -v strace >/dev/null 2>&1; then
	set +e
	out=$(run_as_user timeout 10 strace -p "$upid" -e trace=none 2>&1)
	rc=$?
	set -e
	[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "strace -p attached to the daemon as $TEST_USER (rc $rc): $out"
	assert_match "$out" "Operation not permitted|not permitted" "strace -p is refused: $(echo "$out" | head -n 1)"
	if [ -n "$ctl" ]; then
		set +e
		out=$(run_as_user timeout 2 strace -p "$ctl" -e trace=none 2>&1)
		set -e
		assert_not_contains "$out" "not permitted" "control: strace -p of an ordinary process is allowed"
	fi
else
	skip "strace is not installed: attach cannot be checked"
fi
if command -v gdb >/dev/null 2>&1; then
	set +e
	out=$(run_as_user timeout 30 gdb -nx -batch -p "$upid" -ex 'info threads' 2>&1)
	set -e
	assert_match "$out" "ptrace: Operation not permitted|not permitted" "gdb -p is refused"
	set +e
	out=$(cd "$U" && run_as_user timeout 30 gcore -o "$U/gcore" "$upid" 2>&1)
	set -e
	if ls "$U"/gcore* >/dev/null 2>&1; then
		rm -f "$U"/gcore*
		fail "gcore as $TEST_USER dumped the daemon"
	fi
	pass "gcore as $TEST_USER produced nothing"
else
	skip "gdb is not installed: gdb -p cannot be checked"
fi
ucred umount "$U/mnt" >/dev/null 2>&1 || fusermount3 -u -z "$U/mnt" || true
[ -n "$ctl" ] && kill "$ctl" 2>/dev/null || true
out=$($SCAN "$T/secrets" "$U/state") || fail "secrets in the user daemon's state_dir: $out"
pass "the user daemon's state_dir is clean too"
# (not $B/state/credfs.log: a sanitizer reports the deliberate SIGSEGV there)
sm_done "$T/state/credfs.log" "$U/state/credfs.log"
