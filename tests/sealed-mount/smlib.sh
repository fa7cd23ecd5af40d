# shellcheck shell=bash
# tests/sealed-mount/smlib.sh: helpers shared by the sealed-state mount
# tests.  Sources tests/mount/lib.sh (a colleague's, not edited here) and adds:
#   sm_helper PATH [DIR]     an exec helper: `PATH NAME` prints a fresh random
#                            credential_process JSON and appends one line to
#                            $T/calls.NAME (the provider's request log);
#                            flag files $T/fail.NAME (exit 1), $T/hang.NAME
#                            (sleep 60), $T/delay.NAME (seconds), $T/life.NAME
#                            (lifetime in seconds, default 3600); every
#                            credential issued is logged to $T/issued.NAME as
#                            "AKID SECRET TOKEN EXPIRATION".
#   calls NAME               number of provider calls so far
#   last_ak/last_sk/last_tok NAME   the newest credential issued
#   audit_events EVENT       audit lines of that event
#   sm_status_field PROFILE KEY     from `credfs status --json`
#   aws_field FILE SECTION KEY      from an aws-credentials text
#   bad_files [DIR]          *.bad-* files set aside under state_dir
# shellcheck source=../mount/lib.sh
. "$(dirname "$0")/../mount/lib.sh"

# The kernel keyring is shared by every test of this uid: off unless a test
# asks for it.
export CREDFS_KEYRING=${CREDFS_KEYRING:-off}

sm_helper() { # PATH [DIR: where calls.*, issued.* and flags live; $T]
	local path=$1 dir=${2:-$T}
	cat >"$path" <<HELPER
#!/bin/sh
d=$dir
n=\${1:-prod}
echo "call \$\$ \$(date +%s.%N)" >>"\$d/calls.\$n"
if [ -e "\$d/fail.\$n" ]; then
	echo "simulated outage of \$n: HTTP 503 ServiceUnavailable" >&2
	exit 1
fi
[ -e "\$d/hang.\$n" ] && sleep 60
[ -e "\$d/delay.\$n" ] && sleep "\$(cat "\$d/delay.\$n")"
life=3600
[ -e "\$d/life.\$n" ] && life=\$(cat "\$d/life.\$n")
ak=ASIA\$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
sk=\$(head -c 30 /dev/urandom | base64 -w0)
tok=FwoG\$(head -c 96 /dev/urandom | base64 -w0)
exp=\$(date -u -d "+\$life seconds" +%Y-%m-%dT%H:%M:%SZ)
echo "\$ak \$sk \$tok \$exp" >>"\$d/issued.\$n"
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "SessionToken": "%s", "Expiration": "%s"}\n' "\$ak" "\$sk" "\$tok" "\$exp"
HELPER
	chmod 755 "$path"
}

# sm_config CREDFS_LINES PROFILES SECTIONS: $CFG with state and keyfile in
# $T, CREDFS_LINES added to [credfs], one exec profile of the counting
# helper per name in PROFILES ("base": the aws-static store entry aws-base),
# then SECTIONS (the [file] sections and any other profile) as given.
sm_config() {
	local p
	{
		printf '[credfs]\nstate_dir = %s/state\nkey = keyfile:%s/state/key\n' \
			"$T" "$T"
		[ -z "$1" ] || printf '%s\n' "$1"
		for p in $2; do
			if [ "$p" = base ]; then
				printf '\n[profile base]\nprovider = aws-static\nsecret = aws-base\n'
			else
				printf '\n[profile %s]\nprovider = exec\ncommand = %s/helper.sh %s\n' \
					"$p" "$T" "$p"
			fi
		done
		printf '\n%s\n' "$3"
	} >"$CFG"
	chmod 600 "$CFG"
}

calls() { # NAME
	if [ -f "$T/calls.$1" ]; then
		wc -l <"$T/calls.$1" | tr -d ' '
	else
		echo 0
	fi
}

last_ak() { tail -n 1 "$T/issued.$1" | cut -d' ' -f1; }
last_sk() { tail -n 1 "$T/issued.$1" | cut -d' ' -f2; }
last_tok() { tail -n 1 "$T/issued.$1" | cut -d' ' -f3; }

audit_events() { # EVENT [AUDIT_LOG]
	local log=${2:-$T/state/audit.log}
	[ -f "$log" ] || return 0
	grep -E "\"event\": ?\"$1\"" "$log" || true
}

# sm_status_field PROFILE KEY [CONFIG]
sm_status_field() {
	local s
	s=$(status_json "${3:-$CFG}") || fail "credfs status --json failed: $s"
	json_get "$s" "[p for p in j['profiles'] if p['profile']=='$1'][0].get('$2')"
}

# aws_field FILE SECTION KEY: from an aws-credentials file's text
aws_field() {
	"$PY" - "$1" "$2" "$3" <<'PYEOF'
import configparser, sys
cp = configparser.ConfigParser(interpolation=None)
cp.read_string(open(sys.argv[1]).read())
print(cp[sys.argv[2]][sys.argv[3]] if cp.has_section(sys.argv[2]) else "")
PYEOF
}

bad_files() { # [DIR]
	find "${1:-$T/state}" -name '*.bad-*' 2>/dev/null | sort
}

# sanitized: the credfs binary was built with ASan (whose mlock is a no-op)
sanitized() {
	case "$(ldd "$CREDFS" 2>/dev/null)" in
	*libasan*) return 0 ;;
	esac
	return 1
}

# sm_done [LOG...]: waits for this test's daemons to exit, fails if a
# daemon log (default $T/state/credfs.log) holds a sanitizer report, and
# prints the closing line.
sm_done() {
	local p log _
	for p in "${_LIB_PIDS[@]}"; do
		for _ in $(seq 50); do
			grep -q '^State:[[:space:]]*[RSD]' "/proc/$p/status" 2>/dev/null || break
			sleep 0.1
		done
	done
	[ $# -gt 0 ] || set -- "$T/state/credfs.log"
	for log in "$@"; do
		[ -f "$log" ] || continue
		if grep -Eq 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$log"; then
			grep -E -A 12 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$log" | head -n 40 >&2
			fail "sanitizer report in $log"
		fi
	done
	say "all checks passed"
}
