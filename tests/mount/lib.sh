# shellcheck shell=bash
# tests/mount/lib.sh: shared helpers for the end-to-end mount tests.
#
# Source it from a test script after `set -euo pipefail`:
#	. "$(dirname "$0")/lib.sh"
#	lib_init NAME "$@"		# $1 = path of the credfs binary
#
# It provides: $CREDFS (absolute), $T (private temp dir), $MNT, $CFG, $HOME
# (= $T/home), say/check/pass/fail, skip (exit 77; exit 1 under CI=true),
# need_cmd, host_has/host_missing (tests/host.sh: the host settings and the
# commands that add them), assert_eq/assert_contains/assert_not_contains/
# assert_match/assert_fails_with, errno_of (python statement -> errno name), json_get,
# write_helper/write_config, mount_credfs/umount_credfs/is_mounted,
# status_json/daemon_pid, wait_until, ensure_test_user/run_as_user, and a
# cleanup trap that unmounts lazily and kills the processes this test
# started (found by pid: those whose argv names $T or a dir in _LIB_DIRS;
# never by name).  lib_init skips the test when FUSE cannot mount here.

CREDFS=
T=
MNT=
CFG=
TEST_NAME=
PY=${PYTHON:-python3}
# host_has/host_missing: the host settings and the commands that add them.
. "$(dirname "${BASH_SOURCE[0]}")/../host.sh"
_LIB_MOUNTS=()
_LIB_PIDS=()
_LIB_DIRS=() # more private dirs: removed at exit, their processes killed

# Tests leave no keys in the user keyring (the crypto suite tests it).
export CREDFS_KEYRING=off

say() { printf '%s: %s\n' "$TEST_NAME" "$*"; }
check() { printf '%s: check: %s\n' "$TEST_NAME" "$*"; }
pass() { printf '%s: ok: %s\n' "$TEST_NAME" "$*"; }

fail() {
	printf '%s: FAIL: %s\n' "$TEST_NAME" "$*" >&2
	if [ -n "$T" ] && [ -s "$T/state/credfs.log" ]; then
		printf '%s: --- tail of the daemon log\n' "$TEST_NAME" >&2
		tail -n 20 "$T/state/credfs.log" >&2 || true
	fi
	exit 1
}

# skip REASON: exit 77 (meson's skip), or fail under CI=true.
skip() {
	if [ "${CI:-}" = true ]; then
		printf '%s: FAIL (CI=true, cannot skip): %s\n' "$TEST_NAME" "$*" >&2
		exit 1
	fi
	printf '%s: SKIP: %s\n' "$TEST_NAME" "$*"
	exit 77
}

# A prerequisite program; skipped (or failed under CI) if missing.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"
}

_lib_fuse_usable() {
	[ -c /dev/fuse ] || skip "/dev/fuse is missing"
	if ! (exec 9<>/dev/fuse) 2>/dev/null; then
		host_has fuse_mode ||
			fail "uid $(id -u) cannot open /dev/fuse: $(host_missing fuse_mode)"
		skip "/dev/fuse cannot be opened read-write by uid $(id -u)"
	fi
	grep -qw fuse /proc/filesystems 2>/dev/null ||
		skip "the kernel has no fuse filesystem (/proc/filesystems)"
	command -v fusermount3 >/dev/null 2>&1 ||
		skip "fusermount3 is not installed"
}

# /dev/fuse may open and still refuse mounts (a container without the
# capability, no setuid fusermount3): probe with an empty credfs config.
_lib_probe_mount() {
	local d=$T/probe out
	mkdir -p "$d/mnt" "$d/state"
	chmod 700 "$d/state"
	printf '[credfs]\nstate_dir = %s/state\nkey = keyfile:%s/state/key\n' \
		"$d" "$d" >"$d/config"
	_LIB_MOUNTS+=("$d/mnt")
	if ! out=$("$CREDFS" -c "$d/config" mount "$d/mnt" 2>&1); then
		case "$out" in
		*"cannot mount"*) skip "FUSE mounts do not work here: $out" ;;
		esac
		return 0 # a credfs failure: the test itself will show it
	fi
	"$CREDFS" -c "$d/config" umount "$d/mnt" >/dev/null 2>&1 ||
		fusermount3 -u -z "$d/mnt" 2>/dev/null || true
	rm -rf "$d"
}

# Every process whose argv mentions our temp dir was started by this test
# (the daemon, exec helpers, background readers).
_lib_our_pids() {
	local p cmd d
	[ -n "$T" ] || return 0
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = $$ ] && continue
		[ "$p" = "$BASHPID" ] && continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
		for d in "$T" "${_LIB_DIRS[@]}"; do
			case "$cmd" in
			*"$d/"*)
				echo "$p"
				break
				;;
			esac
		done
	done
}

_lib_cleanup() {
	local rc=$? mp p
	set +e
	for mp in "${_LIB_MOUNTS[@]}"; do
		if grep -q " $mp " /proc/mounts 2>/dev/null; then
			fusermount3 -u -z "$mp" 2>/dev/null ||
				umount -l "$mp" 2>/dev/null
		fi
	done
	for p in "${_LIB_PIDS[@]}" $(_lib_our_pids); do
		# a group leader (an exec helper) takes its children along
		if [ "$(cut -d' ' -f5 "/proc/$p/stat" 2>/dev/null)" = "$p" ]; then
			kill -9 -- "-$p" 2>/dev/null
		fi
		kill -9 "$p" 2>/dev/null
	done
	for mp in "$T" "${_LIB_DIRS[@]}"; do
		[ -n "$mp" ] && [ -d "$mp" ] || continue
		if [ "$rc" = 0 ] || [ -z "${KEEP_TMP:-}" ]; then
			rm -rf "$mp" 2>/dev/null
		else
			echo "$TEST_NAME: kept $mp" >&2
		fi
	done
	exit "$rc"
}

# lib_init NAME CREDFS_BINARY
lib_init() {
	TEST_NAME=$1
	shift
	[ $# -ge 1 ] || { echo "usage: $0 CREDFS_BINARY" >&2; exit 2; }
	CREDFS=$(readlink -f "$1")
	[ -x "$CREDFS" ] || { echo "$TEST_NAME: $1 is not executable" >&2; exit 1; }
	_lib_fuse_usable
	T=$(mktemp -d "/tmp/credfs-mt-$TEST_NAME.XXXXXX")
	chmod 755 "$T"
	trap _lib_cleanup EXIT
	trap 'exit 130' INT TERM
	MNT=$T/mnt
	CFG=$T/config
	mkdir -p "$MNT" "$T/state"
	chmod 700 "$T/state"
	_lib_probe_mount
	export HOME=$T/home
	mkdir -p "$HOME"
	unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID \
		AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CONFIG_FILE \
		AWS_SHARED_CREDENTIALS_FILE CREDFS_CONFIG
	export AWS_EC2_METADATA_DISABLED=true
	say "binary $CREDFS, temp dir $T"
}

# ---- assertions ----

assert_eq() { # ACTUAL EXPECTED MESSAGE
	if [ "$1" != "$2" ]; then
		fail "$3: expected [$2], got [$1]"
	fi
	pass "$3"
}

assert_contains() { # HAYSTACK NEEDLE MESSAGE
	case "$1" in
	*"$2"*) pass "$3" ;;
	*) fail "$3: [$2] not found in: $1" ;;
	esac
}

assert_not_contains() { # HAYSTACK NEEDLE MESSAGE
	case "$1" in
	*"$2"*) fail "$3: [$2] found in: $1" ;;
	*) pass "$3" ;;
	esac
}

assert_match() { # STRING ERE MESSAGE (a here-string: no pipe whose
	# writer could die of SIGPIPE under pipefail once grep -q has seen a
	# match)
	if ! grep -Eq -- "$2" <<<"$1"; then
		fail "$3: /$2/ does not match: $1"
	fi
	pass "$3"
}

# assert_fails_with ERE MESSAGE -- CMD...: CMD must exit non-zero and its
# stderr must match ERE (e.g. 'Permission denied|Operation not permitted').
assert_fails_with() {
	local re=$1 msg=$2 out rc
	shift 2
	[ "${1:-}" = -- ] && shift
	set +e
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	set -e
	if [ "$rc" = 0 ]; then
		fail "$msg: '$*' succeeded"
	fi
	if ! grep -Eq -- "$re" <<<"$out"; then
		fail "$msg: '$*' failed (rc $rc) but stderr does not match /$re/: $out"
	fi
	pass "$msg"
}

# errno_of PYTHON-STATEMENTS: runs them with `os` imported; prints OK or
# the errno name of the OSError raised.
errno_of() {
	"$PY" - "$@" <<'EOF'
import errno, os, sys
code = sys.argv[1]
try:
    exec(code, {"os": os})
    print("OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
EOF
}

# ---- setting up ----

# write_helper PATH ACCESS_KEY SECRET [LIFETIME_SECONDS]: an exec helper
# printing credential_process JSON.
write_helper() {
	local path=$1 ak=$2 sk=$3 life=${4:-3600}
	cat >"$path" <<EOF
#!/bin/sh
exp=\$(date -u -d "+$life seconds" +%Y-%m-%dT%H:%M:%SZ)
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "SessionToken": "%s", "Expiration": "%s"}\n' \\
	'$ak' '$sk' 'TOKEN-$ak' "\$exp"
EOF
	chmod 755 "$path"
}

PROD_AK=ASIAPRODMOUNTTEST001
PROD_SK=prod/secret+key/0123456789abcdefXYZ
BASE_AK=AKIABASEMOUNTTEST001
BASE_SK=base/secret+key/9876543210fedcbaXYZ

# write_config_in DIR CONFIG [EXTRA]: the standard test config (state in
# DIR/state, DIR/helper.sh, DIR/base.keys) to CONFIG, EXTRA (more sections)
# appended.
write_config_in() {
	local dir=$1 cfg=$2
	write_helper "$dir/helper.sh" "$PROD_AK" "$PROD_SK"
	printf 'access_key_id = %s\nsecret_access_key = %s\n' \
		"$BASE_AK" "$BASE_SK" >"$dir/base.keys"
	chmod 600 "$dir/base.keys"
	cat >"$cfg" <<EOF
[credfs]
state_dir = $dir/state
key = keyfile:$dir/state/key

[profile prod]
provider = exec
command = $dir/helper.sh

[profile base]
provider = aws-static
secret_file = $dir/base.keys

[file credentials]
format = aws-credentials
profiles = prod default=prod base

[file process/prod.json]
format = aws-process
profiles = prod
EOF
	if [ -n "${3:-}" ]; then
		printf '\n%s\n' "$3" >>"$cfg"
	fi
	chmod 600 "$cfg"
}

# write_config [EXTRA]: the standard test config to $CFG, in $T.
write_config() { write_config_in "$T" "$CFG" "${1:-}"; }

is_mounted() { # MOUNTPOINT
	grep -q " $1 fuse" /proc/mounts
}

# mount_credfs [MOUNTPOINT [CONFIG]]: mounts and waits until it serves.
mount_credfs() {
	local mp=${1:-$MNT} cfg=${2:-$CFG} out
	_LIB_MOUNTS+=("$mp")
	if ! out=$("$CREDFS" -c "$cfg" mount "$mp" 2>&1); then
		fail "credfs mount $mp failed: $out"
	fi
	is_mounted "$mp" || fail "credfs mount returned 0 but $mp is not in /proc/mounts"
	local pid
	pid=$(daemon_pid "$cfg") || true
	[ -n "$pid" ] && _LIB_PIDS+=("$pid")
	return 0
}

umount_credfs() { # [MOUNTPOINT [CONFIG]]
	local mp=${1:-$MNT} cfg=${2:-$CFG} out
	out=$("$CREDFS" -c "$cfg" umount "$mp" 2>&1) ||
		fail "credfs umount $mp failed: $out"
	local _
	for _ in $(seq 50); do
		is_mounted "$mp" || return 0
		sleep 0.1
	done
	fail "$mp still mounted after credfs umount"
}

# status_json [CONFIG]
status_json() {
	"$CREDFS" -c "${1:-$CFG}" status --json
}

# jq-less JSON field access: json_get JSON PYTHON-EXPR (on `j`)
json_get() {
	"$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); v=eval(sys.argv[2]); print("" if v is None else v)' "$1" "$2"
}

daemon_pid() { # [CONFIG]
	local s
	s=$(status_json "${1:-$CFG}" 2>/dev/null) || return 1
	json_get "$s" 'j["pid"]'
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s.
wait_until() {
	local secs=$1 _
	shift
	for _ in $(seq $((secs * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# ---- other users ----

TEST_USER=${CREDFS_TEST_USER:-credfs-test}

# ensure_test_user: fails, naming the command that adds it, unless the user
# exists (under CI=true, as root, it is created).
ensure_test_user() {
	if ! id "$TEST_USER" >/dev/null 2>&1; then
		if [ "${CI:-}" = true ] && [ "$(id -u)" = 0 ]; then
			useradd --create-home --shell /bin/bash "$TEST_USER" ||
				fail "cannot create user $TEST_USER"
		else
			fail "$(HOST_TEST_USER=$TEST_USER host_missing test_user)"
		fi
	fi
	TEST_UID=$(id -u "$TEST_USER")
	TEST_GID=$(id -g "$TEST_USER")
	TEST_HOME=$(getent passwd "$TEST_USER" | cut -d: -f6)
}

# run_as_user CMD...: runs CMD as $TEST_USER with a clean environment.
run_as_user() {
	if [ "$(id -u)" != 0 ]; then
		skip "run_as_user needs root"
	fi
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
		env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$TEST_HOME" \
		USER="$TEST_USER" LANG=C.UTF-8 "$@"
}
