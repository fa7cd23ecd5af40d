# shellcheck shell=bash
# tests/policy-mount/lib.sh: helpers for the policy/audit mount tests.
#
# Builds on tests/mount/lib.sh (lib_init, fail/pass/check, assert_*, skip,
# mount_credfs, daemon_pid, json_get, wait_until, the cleanup trap) and adds:
#   pm_init NAME "$@"          lib_init, root check, the exec helper
#   pm_write_helper PATH [AK SK TOKEN]  a credential_process helper
#   pm_config EXTRA FILES [CFG]  [credfs] (+EXTRA), profile prod, FILES
#   pm_fuse_allow_other        user_allow_other in /etc/fuse.conf
#   pm_on_exit FUNC            more cleanup before the library's
#   audit_lines/count_lines PYEXPR [LOG]  audit lines where PYEXPR(j) holds
#   assert_line PYEXPR MSG     one must; the last one in $PM_LAST_LINE
#   assert_no_secrets [FILE...]  no planted secret in any log
#   as_nobody CMD...           CMD as uid/gid 65534, no groups, clean env
#   run_rc CMD...              sets RC, OUT, ERR
#   assert_denied/assert_served MSG CMD...
#   need_cgroup2               sets CG2 (the cgroup v2 mount)

. "$(dirname "$0")/../mount/lib.sh"

# Planted values: the access key id may appear in the audit log (key_ids),
# the secret and the token never may.
PM_AK=ASIAPOLICYMOUNT00001
PM_SK=pmSecret/Do+Not+Log/7f3c9a1e5b2d
PM_TOK=pmSessionToken/NeverInAudit/c0ffee42
PM_NOBODY=65534

# pm_init NAME CREDFS: everything here runs as root (CI runs as root).
pm_init() {
	local name=$1
	shift
	lib_init "$name" "$@"
	[ "$(id -u)" = 0 ] || skip "needs root (other uids, setpriv, cgroups)"
	need_cmd setpriv
	need_cmd "$PY"
	chmod 755 "$T" "$MNT"
	pm_write_helper "$T/helper.sh"
}

# pm_write_helper PATH [AK SK TOKEN]: secrets other than PM_* are added to
# PM_SECRETS so assert_no_secrets looks for them too.
PM_SECRETS=()
pm_write_helper() {
	local ak=${2:-$PM_AK} sk=${3:-$PM_SK} tok=${4:-$PM_TOK}
	PM_SECRETS+=("$sk" "$tok")
	cat >"$1" <<EOF
#!/bin/sh
exp=\$(date -u -d '+6 hours' +%Y-%m-%dT%H:%M:%SZ)
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "SessionToken": "%s", "Expiration": "%s"}\n' \\
	'$ak' '$sk' '$tok' "\$exp"
EOF
	chmod 755 "$1"
}

# allow_other needs user_allow_other for a non-root mounter only.  Under
# CI=true it is added if absent (as before); elsewhere a non-root mounter
# fails naming the command that adds it, and root goes on without it.
pm_fuse_allow_other() {
	host_has allow_other && return 0
	if [ "${CI:-}" = true ]; then
		echo user_allow_other >>/etc/fuse.conf ||
			fail "cannot add user_allow_other to /etc/fuse.conf"
		return 0
	fi
	[ "$(id -u)" = 0 ] || fail "$(host_missing allow_other)"
	say "note: $(host_missing allow_other) (root mounts without it)"
}

# pm_config CREDFS_EXTRA FILES [CFGPATH]: writes the config.
pm_config() {
	local extra=$1 files=$2 cfg=${3:-$CFG}
	cat >"$cfg" <<EOF
[credfs]
state_dir = $T/state
key = keyfile:$T/state/key
$extra

[profile prod]
provider = exec
command = $T/helper.sh

$files
EOF
	chmod 600 "$cfg"
}

audit_log() { echo "${PM_AUDIT:-$T/state/audit.log}"; }

# audit_lines PYEXPR [LOG]: the JSON lines whose object j satisfies PYEXPR.
audit_lines() {
	"$PY" - "$1" "${2:-$(audit_log)}" <<'EOF'
import json, sys
pred, path = sys.argv[1], sys.argv[2]
with open(path, encoding="utf-8") as f:
    for line in f:
        j = json.loads(line)
        if eval(pred, {}, {"j": j}):
            sys.stdout.write(line)
EOF
}

# count_lines PYEXPR [LOG]
count_lines() { audit_lines "$@" | wc -l; }

# assert_line PYEXPR MESSAGE [LOG]: at least one line matches; prints it.
assert_line() {
	local out
	out=$(audit_lines "$1" "${3:-$(audit_log)}") || fail "$2: cannot read the audit log"
	[ -n "$out" ] || fail "$2: no audit line with $1; the log:
$(tail -n 8 "${3:-$(audit_log)}")"
	pass "$2"
	PM_LAST_LINE=$(printf '%s\n' "$out" | tail -n 1)
}

# assert_no_secrets [FILES...]: default all audit logs under $T.
assert_no_secrets() {
	local f s files=("$@")
	[ ${#files[@]} -gt 0 ] || mapfile -t files < <(find "$T" -name '*.log*' -type f 2>/dev/null)
	[ ${#files[@]} -gt 0 ] || fail "no audit log found to check for secrets"
	for f in "${files[@]}"; do
		for s in "${PM_SECRETS[@]}"; do
			if grep -qF -- "$s" "$f"; then
				fail "a planted secret (${s:0:6}...) is in $f"
			fi
		done
	done
	pass "none of ${#PM_SECRETS[@]} planted secret values in ${#files[@]} log file(s)"
}

as_nobody() {
	setpriv --reuid="$PM_NOBODY" --regid="$PM_NOBODY" --clear-groups \
		env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/ LANG=C.UTF-8 "$@"
}

# run_rc CMD...: sets RC, OUT (stdout) and ERR (stderr); never exits.
run_rc() {
	local e
	e=$(mktemp "$T/err.XXXXXX")
	set +e
	OUT=$("$@" 2>"$e")
	RC=$?
	set -e
	ERR=$(cat "$e")
	rm -f "$e"
}

# assert_denied MESSAGE CMD...: fails with Permission denied, prints nothing.
assert_denied() {
	local msg=$1
	shift
	run_rc "$@"
	[ "$RC" != 0 ] || fail "$msg: '$*' succeeded: $OUT"
	case "$ERR" in
	*"Permission denied"*) ;;
	*) fail "$msg: '$*' failed (rc $RC) without EACCES: $ERR" ;;
	esac
	[ -z "$OUT" ] || fail "$msg: bytes served to a denied reader: $OUT"
	pass "$msg"
}

# assert_served MESSAGE CMD...: succeeds and prints the access key id.
assert_served() {
	local msg=$1
	shift
	run_rc "$@"
	[ "$RC" = 0 ] || fail "$msg: '$*' failed (rc $RC): $ERR"
	case "$OUT" in
	*"$PM_AK"*) ;;
	*) fail "$msg: '$*' did not print the credentials: $OUT" ;;
	esac
	pass "$msg"
}

# pm_on_exit FUNC: runs FUNC (more cleanup, e.g. cgroups, a tmpfs) before
# the library's cleanup, keeping the exit status; errexit is off in there so
# a failing step cannot cut the cleanup short.
pm_on_exit() {
	trap "rc=\$?; set +e; $1; (exit \$rc); _lib_cleanup" EXIT
}

# In CI the suite must run: a missing prerequisite fails (skip does that).
need_cgroup2() {
	local m
	m=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	[ -n "$m" ] || skip "no cgroup v2 hierarchy mounted"
	CG2=$m
}
