#!/bin/bash
# `credfs demo` works with nothing set up, serves, and cleans up after
# --duration.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init demo "$@"

D=$T/demo
_LIB_MOUNTS+=("$D/aws")
check "credfs demo --duration 8s $D"
start=$(date +%s)
"$CREDFS" demo --duration 8s "$D" >"$T/demo.out" 2>"$T/demo.err" &
demo=$!
_LIB_PIDS+=("$demo")
wait_until 6 is_mounted "$D/aws" || fail "the demo did not mount $D/aws within 6 s: $(cat "$T/demo.err")"
pass "mounted $D/aws"
text=$(/usr/bin/cat "$D/aws/credentials") || fail "cat $D/aws/credentials failed"
assert_contains "$text" "[default]" "credentials has [default]"
assert_contains "$text" "[session]" "credentials has [session]"
# parsed from cat's output: the demo's policy admits cat, not python
"$PY" -c '
import configparser, sys
cp = configparser.ConfigParser(interpolation=None)
cp.read_string(sys.argv[1])
assert set(cp.sections()) == {"default", "session"}, cp.sections()
for s in cp.sections():
    assert cp[s]["aws_access_key_id"] and cp[s]["aws_secret_access_key"], s
assert cp["session"]["aws_session_token"]
' "$text" || fail "the demo credentials do not parse"
pass "[default] and [session] have keys; session has a token"
assert_contains "$(/usr/bin/cat "$D/aws/config")" "region = us-east-1" "demo config passes through"
assert_contains "$(/usr/bin/cat "$D/aws/process/session.json")" '"Version":1' "process/session.json is served"
assert_contains "$(cat "$T/demo.out")" "credfs demo: mounted $D/aws" "the demo says where it mounted"
# The demo tells the user to try `aws configure list --profile session`;
# its rules are meant to admit the AWS CLI (python3).  Run it now, judge
# it at the end so the rest of the demo is checked either way.
AWSCLI=/usr/bin/aws
[ -x "$AWSCLI" ] || AWSCLI=$(command -v aws || true)
aws_out=skipped
if [ -n "$AWSCLI" ]; then
	aws_out=$(AWS_SHARED_CREDENTIALS_FILE=$D/aws/credentials AWS_CONFIG_FILE=$D/aws/config \
		"$AWSCLI" configure list --profile session 2>&1 || true)
fi

check "the demo ends by itself after the duration"
# the walkthrough (with the AWS CLI) comes first; --duration counts after it
wait_until 90 sh -c "! kill -0 $demo 2>/dev/null" || fail "the demo still runs after $(($(date +%s) - start)) s"
set +e
wait "$demo"
rc=$?
set -e
el=$(($(date +%s) - start))
assert_eq "$rc" 0 "credfs demo exits 0"
[ "$el" -ge 7 ] || fail "the demo ended after only $el s (duration 8s)"
pass "ended after $el s"
is_mounted "$D/aws" && fail "$D/aws is still mounted"
pass "the mount is gone"
[ ! -e "$D/aws/credentials" ] || fail "credentials left on disk under $D/aws"
pass "no credentials file left on disk"
assert_contains "$(cat "$T/demo.out")" "unmounted" "the demo reports the unmount"
assert_not_contains "$(cat "$T/demo.err")" "credfs: " "no errors on stderr"
check "the walkthrough ran the story itself, in order"
# step N: the text of the walkthrough's step N (its header to the next)
step() { awk -v n="$1" '/^[0-9]+\. /{on = ($1 == n".")} /^Try them/{on = 0} on' "$T/demo.out"; }
assert_eq "$(grep -oE '^[0-9]+\. ' "$T/demo.out" | tr -d '. \n')" 12345 "five steps, in order"
assert_contains "$(step 1)" "   \$ cat $D/aws/credentials" "step 1: cat, shown as typed"
assert_contains "$(step 1)" "[session]" "step 1: its output"
assert_contains "$(step 3)" "   \$ head $D/aws/credentials" "step 3: head"
assert_match "$(step 3)" "^head: cannot open .*Permission denied" "step 3: head is denied"
assert_contains "$(step 4)" "audit tail" "step 4: audit tail"
assert_match "$(step 4)" " open deny credentials /usr/bin/head " "step 4: shows the denied open"
assert_match "$(step 4)" " open allow credentials /usr/bin/cat " "step 4: and the allowed cat"
assert_match "$(step 5)" "^mount $D/aws " "step 5: status"
if [ -n "$AWSCLI" ]; then
	assert_contains "$(step 2)" "aws configure list --profile session" "step 2: the AWS CLI"
	assert_match "$(step 2)" "access_key +\*+[A-Z0-9]{4} +shared-credentials-file" "step 2: reads the mount"
fi
check "the demo's audit log"
out=$("$CREDFS" -c "$D/config" audit verify 2>&1) || fail "audit verify: $out"
pass "audit verify: $out"
self_denials=$(grep '"decision":"deny"' "$D/state/audit.log" | grep -cF "\"exe\":\"$CREDFS\"" || true)
assert_eq "$self_denials" 0 "the demo's own keep-alive opens are not denied by its own rules"
if [ "$aws_out" != skipped ]; then
	check "the demo's suggested 'aws configure list --profile session' ($AWSCLI)"
	assert_match "$aws_out" 'access_key +\*+[A-Z0-9]{4} +shared-credentials-file' "aws reads the demo credentials"
fi
say "all passed"
