# shellcheck shell=bash
# tests/exec-policy/lib.sh: helpers for the `credfs exec` policy tests, on
# top of tests/policy-mount/lib.sh (pm_init, pm_config, audit_lines,
# assert_line, assert_no_secrets, run_rc...).
#   ep_ask_socket PROFILE [CFG]  python asks the control socket directly
#                                (another executable than credfs); prints
#                                the reply line
#   ep_static_file PATH          an aws-static secret_file (0600)
#   ep_runner                    $T/bin/runner: a copy of bash, so rules
#                                can name it as an ancestor
. "$(dirname "$0")/../policy-mount/lib.sh"
# Debian's python (stdlib only here) starts in a fraction of a version
# manager's shim: these tests read the audit log some 40 times.
[ -n "${PYTHON:-}" ] || [ ! -x /usr/bin/python3 ] || PY=/usr/bin/python3

EP_STATIC_AK=AKIAEXECPOLICYSTATIC1
EP_STATIC_SK=epStaticSecret/LongLived+Key/9d8e7f

ep_ask_socket() {
	local cfg=${2:-$CFG}
	"$PY" - "$T/state/ctl.sock" "$1" <<'PYEOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall((json.dumps({"cmd": "env", "profile": sys.argv[2]}) + "\n").encode())
buf = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    buf += b
print(buf.decode().strip())
PYEOF
}

ep_static_file() {
	printf 'access_key_id = %s\nsecret_access_key = %s\n' \
		"$EP_STATIC_AK" "$EP_STATIC_SK" >"$1"
	chmod 600 "$1"
	PM_SECRETS+=("$EP_STATIC_SK")
}

ep_runner() {
	mkdir -p "$T/bin"
	cp /bin/bash "$T/bin/runner"
	chmod 755 "$T/bin" "$T/bin/runner"
	RUNNER=$T/bin/runner
}

# assert_exec_denied MSG WANT CMD...: CMD (a credfs exec) fails, says WANT
# and runs nothing (the command would print RAN).
assert_exec_denied() {
	local msg=$1 want=$2
	shift 2
	run_rc "$@"
	[ "$RC" != 0 ] || fail "$msg: '$*' succeeded: $OUT"
	case "$ERR" in
	*"$want"*) ;;
	*) fail "$msg: '$*' failed (rc $RC) without '$want': $ERR" ;;
	esac
	assert_not_contains "$OUT" RAN "$msg: the command did not run"
	pass "$msg"
}

# assert_exec_ok MSG CMD...: CMD prints the planted access key id.
assert_exec_ok() {
	local msg=$1
	shift
	run_rc "$@"
	[ "$RC" = 0 ] || fail "$msg: '$*' failed (rc $RC): $ERR"
	assert_contains "$OUT" "AWS_ACCESS_KEY_ID=" "$msg"
}
