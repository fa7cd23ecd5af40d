#!/bin/bash
# credfs login --console against moto_server and the federation endpoint
# emulator (tests/peers/aws_federation.py), which checks every session it
# is given with GetCallerIdentity at moto (auth enforced): a role session
# from the sealed store's key gets a sign-in token and a working login URL,
# with and without a daemon; long-lived and GetSessionToken credentials are
# refused before anything is fetched; a wrong session fails; the session's
# secret key and token appear in no output, log, audit line or state file.
#
#   console.sh CREDFS
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../aws-mount/lib.sh"
aws_init console "$@"
command -v curl >/dev/null || skip "curl is missing"
moto_start

port=$(free_port)
HOME=$T "$PY" "$here/../peers/aws_federation.py" --port "$port" \
	--sts "$MOTO_URL" --log "$T/fed.jsonl" >"$T/fed.log" 2>&1 &
pid=$!
disown "$pid"
_LIB_PIDS+=("$pid")
wait_port "$port" "$pid" fed
FED=http://127.0.0.1:$port/federation

cat >"$T/bogus.sh" <<'SH'
#!/bin/sh
printf '{"Version": 1, "AccessKeyId": "ASIABOGUSBOGUSBOGUS1", "SecretAccessKey": "bogus-secret-key-0000000000000000000000", "SessionToken": "bogus-token", "Expiration": "%s"}\n' "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
SH
chmod 755 "$T/bogus.sh"
write_aws_config "[profile console]
provider = aws-assume-role
source = base
role_arn = $ROLE_ARN
external_id = $EXTERNAL_ID
session_name = credfs-console
region = eu-west-1
endpoint = $MOTO_URL
federation_endpoint = $FED

[profile sess]
provider = aws-session-token
source = base
endpoint = $MOTO_URL

[profile bogus]
provider = exec
command = $T/bogus.sh
federation_endpoint = $FED"
store_base

# fed_last FIELD: that field of the emulator's last log line
fed_last() { tail -1 "$T/fed.jsonl" | json_get "$(cat)" "j.get('$1')"; }

# login_url OUTFILE ARGS...: runs login --console, keeps stdout and stderr
login() {
	local o=$1
	shift
	"$CREDFS" -c "$CFG" login --console "$@" >"$T/$o.out" 2>"$T/$o.err"
}

check "no daemon: the session is fetched here, exchanged, and the URL printed"
login a console --print || fail "login --console: $(cat "$T/a.err")"
url=$(cat "$T/a.out")
assert_eq "$(wc -l <"$T/a.out")" 1 "one line on stdout"
dest='https%3A%2F%2Fconsole.aws.amazon.com%2Fconsole%2Fhome%3Fregion%3Deu-west-1'
assert_match "$url" "^$FED\\?Action=login&Issuer=credfs&Destination=$dest&SigninToken=[A-Za-z0-9_%-]{100,}\$" "the sign-in URL"
assert_eq "$(head -1 "$T/fed.jsonl" | json_get "$(head -1 "$T/fed.jsonl")" 'j["method"]')" POST "getSigninToken is a POST (the session in no URL)"
arn=$(fed_last arn)
assert_contains "$arn" ":assumed-role/prod/credfs-console" "the emulator saw the role session (GetCallerIdentity at moto: $arn)"
assert_eq "$(fed_last fields)" "['sessionId', 'sessionKey', 'sessionToken']" "Session has the three fields"

check "the URL signs in: 302 to the console"
res=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$url")
assert_eq "$res" "302 https://console.aws.amazon.com/console/home?region=eu-west-1" "the login redirects to the destination"
assert_eq "$(fed_last issuer)" credfs "Issuer is credfs"
assert_contains "$(fed_last arn)" ":assumed-role/prod/credfs-console" "as the role session"
res=$(curl -s -o /dev/null -w '%{http_code}' "${url%SigninToken=*}SigninToken=forged")
assert_eq "$res" 400 "a forged sign-in token is refused"

check "the session's secrets appear nowhere"
# the session credfs served is the one the emulator saw (same sha256)
env_out=$("$CREDFS" -c "$CFG" exec console -- env)
SK=$(printf '%s\n' "$env_out" | sed -n 's/^AWS_SECRET_ACCESS_KEY=//p')
TK=$(printf '%s\n' "$env_out" | sed -n 's/^AWS_SESSION_TOKEN=//p')
[ -n "$SK" ] && [ -n "$TK" ] || fail "credfs exec gave no session"
unset env_out
sk_sha=$(printf '%s' "$SK" | sha256sum | cut -d' ' -f1)
assert_eq "$(fed_last session_key)" "" "(the last line is the login)"
seen=$(grep getSigninToken "$T/fed.jsonl" | head -1)
assert_contains "$seen" "$sk_sha" "the emulator got the cached session's secret key"
for s in "$SK" "$TK"; do
	for form in "$s" "$(printf '%s' "$s" | base64 -w0)" "$(printf '%s' "$s" | xxd -p | tr -d '\n')" \
		"$("$PY" -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$s")"; do
		no_secret_in "$form" "$T/a.out" "$T/a.err" "$T/state/audit.log" "$T/state/credfs.log" "$T/fed.jsonl"
		if grep -rqF -- "$form" "$T/state" 2>/dev/null; then fail "a secret in $T/state"; fi
	done
done
pass "secret key and session token (raw, base64, hex, url-encoded): not in stdout, stderr, audit, log, state, emulator log"
grep -q '"event":"exec".*"profile":"console"' "$T/state/audit.log" ||
	fail "no exec audit line for the console sign-in: $(tail -3 "$T/state/audit.log")"
pass "the hand-out is audited (exec event, key id only)"

check "--duration: bare seconds, and the federation range"
login d console --print --duration 3600 || fail "--duration 3600: $(cat "$T/d.err")"
assert_eq "$(fed_last duration)" 3600 "SessionDuration=3600 sent"
login d console --print --duration 15m || fail "--duration 15m: $(cat "$T/d.err")"
assert_eq "$(fed_last duration)" 900 "15m is 900"
set +e
login d console --print --duration 60
rc=$?
set -e
assert_eq "$rc" 2 "--duration 60 is refused (exit 2)"
assert_contains "$(cat "$T/d.err")" "900 to 43200" "and says the range"

check "sessions the console does not take are refused before any fetch"
n0=$(wc -l <"$T/fed.jsonl")
for p in base sess; do
	set +e
	login r "$p" --print
	rc=$?
	set -e
	assert_eq "$rc" 2 "$p: exit 2"
	assert_contains "$(cat "$T/r.err")" "role session" "$p: says the console takes a role session ($(cat "$T/r.err"))"
	assert_eq "$(cat "$T/r.out")" "" "$p: nothing on stdout"
done
assert_eq "$(wc -l <"$T/fed.jsonl")" "$n0" "the federation endpoint was not called"

check "a wrong session fails at getSigninToken"
set +e
login b bogus --print
rc=$?
set -e
assert_eq "$rc" 1 "exit 1"
assert_contains "$(cat "$T/b.err")" "getSigninToken: HTTP 400" "the refusal is reported ($(cat "$T/b.err"))"
assert_contains "$(fed_last why)" "InvalidClientTokenId" "moto refused the key"
assert_eq "$(cat "$T/b.out")" "" "no URL printed"
# the right key and secret with a wrong session token: moto refuses too
code=$(SK="$SK" TK="$TK" T="$T" "$PY" - "$FED" <<'PY'
import json, os, sys, urllib.error, urllib.parse, urllib.request
# the cached session's key id: read from the first exchange's log line
ak = [json.loads(l) for l in open(os.environ["T"] + "/fed.jsonl")
      if "getSigninToken" in l][0]["session_id"]
s = json.dumps({"sessionId": ak, "sessionKey": os.environ["SK"],
                "sessionToken": os.environ["TK"][:-4] + "AAAA"})
body = urllib.parse.urlencode({"Action": "getSigninToken", "Session": s}).encode()
try:
    urllib.request.urlopen(sys.argv[1], body, timeout=10)
    print(200)
except urllib.error.HTTPError as e:
    print(e.code)
PY
)
assert_eq "$code" 400 "a wrong session token is refused by the emulator"
assert_contains "$(fed_last why)" "GetCallerIdentity: " "(moto refused it: $(fed_last why))"

check "with a daemon: the session comes from it"
mount_aws
login m console --print || fail "login --console with a daemon: $(cat "$T/m.err")"
assert_match "$(cat "$T/m.out")" "SigninToken=" "a URL"
grep -q '"event":"exec".*"profile":"console".*"daemon":true' "$T/state/audit.log" ||
	fail "no daemon exec audit line: $(grep '"exec"' "$T/state/audit.log" | tail -2)"
pass "audited by the daemon"

check "a display and no --print: xdg-open gets the URL, stdout nothing"
mkdir -p "$T/bin"
printf '#!/bin/sh\nprintf "%%s\\n" "$1" >"%s/opened"\n' "$T" >"$T/bin/xdg-open"
chmod 755 "$T/bin/xdg-open"
PATH=$T/bin:$PATH DISPLAY=:99 login o console || fail "login --console: $(cat "$T/o.err")"
assert_eq "$(cat "$T/o.out")" "" "nothing on stdout"
assert_match "$(cat "$T/opened")" "^$FED\\?Action=login&.*SigninToken=" "xdg-open got the sign-in URL"
assert_contains "$(cat "$T/o.err")" "opened in your browser" "and it says so"
res=$(curl -s -o /dev/null -w '%{http_code}' "$(cat "$T/opened")")
assert_eq "$res" 302 "that URL signs in"
for f in "$T/o.out" "$T/o.err" "$T/m.out" "$T/m.err" "$T/state/audit.log" "$T/state/credfs.log"; do
	no_secret_in "$SK" "$f"
	no_secret_in "$TK" "$f"
done
pass "no secret in the daemon's log or audit either"

check "no config: says what to do"
set +e
out=$("$CREDFS" -c "$T/none" login --console console --print 2>&1)
rc=$?
set -e
assert_eq "$rc" 2 "exit 2"
assert_contains "$out" "credfs init" "names credfs init"
say "all passed"
