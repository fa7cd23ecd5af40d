# shellcheck shell=bash disable=SC2034 # variables for the scripts
# tests/aws-mount/lib.sh: the mount tests against a real moto_server.
#
# Builds on tests/mount/lib.sh (lib_init, assertions, mount_credfs, cleanup
# of mounts and daemons).  Source it after `set -euo pipefail`:
#	. "$(dirname "$0")/lib.sh"
#	aws_init NAME "$@"
#	moto_start			# $MOTO_URL, IAM set up, auth on
#	write_aws_config [EXTRA]	# $CFG: base (sealed) -> prod
#	store_base			# the base key into the sealed store
#	mount_aws			# over $HOME/.aws (it has a config)
#
# Every process started here (moto, oauth2-mock-server) is killed by pid on
# exit, failure included.

AWS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$AWS_LIB_DIR/../mount/lib.sh"

MOTOCTL=$AWS_LIB_DIR/motoctl.py
MOTO_URL=

aws_init() {
	lib_init "$@"
	"$PY" -c 'import boto3, moto.server' 2>/dev/null ||
		skip "python3 has no boto3/moto (moto_server)"
	# Only what the mount serves: no keys from the environment.
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
		AWS_SECURITY_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE \
		AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_ROLE_ARN \
		AWS_WEB_IDENTITY_TOKEN_FILE AWS_ENDPOINT_URL AWS_REGION
	export AWS_DEFAULT_REGION=us-east-1
	export AWS_PAGER=
	export AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1
}

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT PID WHAT
wait_port() {
	for _ in $(seq 200); do
		kill -0 "$2" 2>/dev/null || fail "$3 exited (log: $(tail -5 "$T/$3.log" 2>/dev/null))"
		# bash's /dev/tcp: no interpreter start per poll while the
		# server itself is starting on the same CPUs
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	fail "$3 does not listen on port $1"
}

# moto_start [noauth]: a moto_server on a free loopback port.  Default:
# the standard IAM setup (motoctl.py setup) with auth switched on after it,
# its assignments (BASE_AK, ADMIN_AK, ROLE_ARN, ...) evaluated here.
# noauth: auth never enforced (web identity: moto 5.2.1 answers an
# unsigned AssumeRoleWithWebIdentity with a 500 once auth is on); sets
# WEB_URL.  Requests are recorded to $T/moto*.jsonl (motoctl.py count).
moto_start() {
	local mode=${1:-auth} port pid name=moto setup
	[ "$mode" = noauth ] && name=moto-web
	port=$(free_port)
	mkdir -p "$T/$name-home"
	# moto's botocore reads ~/.aws while it serves a request: under the
	# mount that is a virtual file whose open waits for the very fetch
	# moto is serving (a deadlock until open_timeout).  Its own HOME.
	HOME=$T/$name-home AWS_CONFIG_FILE=/dev/null \
		AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		MOTO_ENABLE_RECORDING=True MOTO_RECORDER_FILEPATH=$T/$name.jsonl \
		INITIAL_NO_AUTH_ACTION_COUNT=$([ "$mode" = noauth ] && echo inf || echo 1000000) \
		"$PY" -m moto.server -H 127.0.0.1 -p "$port" >"$T/$name.log" 2>&1 &
	pid=$!
	disown "$pid" # no "Killed" job notice at cleanup
	_LIB_PIDS+=("$pid")
	wait_port "$port" "$pid" "$name"
	if [ "$mode" = noauth ]; then
		WEB_URL=http://127.0.0.1:$port
		return 0
	fi
	MOTO_URL=http://127.0.0.1:$port
	export MOTO_RECORDING=$T/moto.jsonl
	setup=$("$PY" "$MOTOCTL" setup "$MOTO_URL" 2>&1) ||
		fail "IAM setup in moto failed: $setup"
	eval "$setup"
	export ADMIN_AK ADMIN_SK
	say "moto_server on $MOTO_URL (pid $pid), auth enforced"
}

# write_aws_config [EXTRA]: base (aws-static, sealed entry aws-base) ->
# prod (aws-assume-role with the external id); credentials shows prod and
# default=prod; process/prod.json.
write_aws_config() {
	cat >"$CFG" <<EOF
[credfs]
state_dir = $T/state
key = keyfile:$T/state/key
audit_log = $T/state/audit.log

[profile base]
provider = aws-static
secret = aws-base
endpoint = $MOTO_URL

[profile prod]
provider = aws-assume-role
source = base
role_arn = $ROLE_ARN
external_id = $EXTERNAL_ID
duration = ${DURATION:-1h}
session_name = credfs-prod
region = us-east-1
endpoint = $MOTO_URL

[file credentials]
format = aws-credentials
profiles = prod default=prod

[file process/prod.json]
format = aws-process
profiles = prod
EOF
	if [ -n "${1:-}" ]; then
		printf '\n%s\n' "$1" >>"$CFG"
	fi
	chmod 600 "$CFG"
	local out
	out=$("$CREDFS" -c "$CFG" check 2>&1) || fail "credfs check: $out"
}

# store_put NAME AK SK: a source key into the sealed store (stdin lines).
store_put() {
	local out
	out=$(printf 'access_key_id=%s\nsecret_access_key=%s\n' "$2" "$3" |
		"$CREDFS" -c "$CFG" store add "$1" 2>&1) ||
		fail "credfs store add $1: $out"
}

store_base() { store_put aws-base "$BASE_AK" "$BASE_SK"; }

# mount_aws: ~/.aws with a config file (region; nothing else), then the
# mount over it.  $MNT becomes $HOME/.aws.
mount_aws() {
	MNT=$HOME/.aws
	mkdir -p "$MNT"
	if [ ! -f "$MNT/config" ]; then
		printf '[default]\nregion = us-east-1\n\n[profile prod]\nregion = us-east-1\n' >"$MNT/config"
	fi
	mount_credfs "$MNT"
	DPID=$(daemon_pid) || fail "no daemon pid from credfs status"
}

# profile_json PROFILE: that profile's object from `credfs status --json`.
profile_json() {
	local s
	s=$(status_json) || fail "credfs status --json failed"
	"$PY" -c 'import json,sys
j = json.loads(sys.argv[1])
p = [p for p in j["profiles"] if p["profile"] == sys.argv[2]]
print(json.dumps(p[0] if p else {}))' "$s" "$1"
}

# ini_get FILE SECTION KEY: a value from a generated credentials file.
ini_get() {
	"$PY" -c 'import configparser,sys
c = configparser.RawConfigParser(); c.read(sys.argv[1])
print(c.get(sys.argv[2], sys.argv[3], fallback=""))' "$1" "$2" "$3"
}

# The daemon must still be the one we started.
assert_daemon_alive() {
	local p
	p=$(daemon_pid) || fail "credfs status fails: the daemon is gone"
	assert_eq "$p" "$DPID" "${1:-daemon} still running (pid $DPID)"
	is_mounted "$MNT" || fail "$MNT is no longer mounted"
}

# no_secret_in SECRET FILE...: SECRET occurs in none of the files.
no_secret_in() {
	local s=$1 f
	shift
	for f in "$@"; do
		[ -e "$f" ] || continue
		if grep -qF -- "$s" "$f"; then
			fail "a secret appears in $f"
		fi
	done
}
