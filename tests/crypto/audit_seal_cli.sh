#!/bin/sh
# `credfs audit seal` and `credfs audit verify --key-file` from the command
# line: sealing before anything was logged, lines MAC'd after it, the key
# read from a file and from stdin (never argv), an edited line named by line
# and epoch, a wrong key refused.  TAP.  $1: the credfs binary.
set -u
CREDFS=${1:-}
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; exit $?; }

T=$(mktemp -d /tmp/credfs-seal-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
cat >"$T/config" <<CFG
[credfs]
state_dir = $T/state
key = keyfile:$T/key
audit_log = $T/state/audit.log

[profile p]
provider = exec
command = true

[file credentials]
format = aws-credentials
profiles = p
CFG
head -c 32 /dev/urandom >"$T/key"
chmod 600 "$T/key"
export CREDFS_KEYRING=off
C="$CREDFS -c $T/config"

$C audit seal >"$T/seal.out" 2>&1
check "seal before anything was logged (state_dir created)" [ $? = 0 ]
key=$(grep -oE '[0-9a-f]{64}' "$T/seal.out" | head -1)
check "the verification key is printed once" [ -n "$key" ]
printf '%s\n' "$key" >"$T/vk"
check "the key is not kept on the machine" \
	sh -c "! grep -rqF '$key' '$T/state'"
printf 'access_key_id=AKIASEALTEST\nsecret_access_key=abc\n' |
	$C store add base access_key_id secret_access_key >/dev/null 2>&1
$C store rm base >/dev/null 2>&1
check "lines after seal carry a MAC" grep -q '"mac":' "$T/state/audit.log"
$C audit verify --key-file "$T/vk" >"$T/v1" 2>&1
check "verify with the key file: OK" [ $? = 0 ]
$C audit verify --key-file - <"$T/vk" >"$T/v2" 2>&1
check "verify with the key on stdin: OK" [ $? = 0 ]
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/wrong"
$C audit verify --key-file "$T/wrong" >"$T/v3" 2>&1
check "a wrong key is refused" [ $? != 0 ]
# A seal state edited to claim a far epoch: the verifier would derive the
# key one HMAC per epoch up to it; it must answer at once, and refuse.
cp "$T/state/audit.log.seal" "$T/seal.good"
sed -i 's/^epoch [0-9]*$/epoch 1000000000000000/' "$T/state/audit.log.seal"
check "the seal state now claims epoch 1e15" grep -q '^epoch 1000000000000000$' "$T/state/audit.log.seal"
timeout 20 $C audit verify --key-file "$T/vk" >"$T/v5" 2>&1
st=$?
check "verify refuses it at once, deriving nothing (exit $st)" [ $st = 1 ]
check "and names the seal state" grep -q 'seal state next to the log: malformed or an implausible epoch' "$T/v5"
cp "$T/seal.good" "$T/state/audit.log.seal"
$C audit verify --key-file "$T/vk" >"$T/v6" 2>&1
check "the genuine state verifies again" [ $? = 0 ]
sed -i 's/"store_rm"/"store_xx"/' "$T/state/audit.log"
$C audit verify --key-file "$T/vk" >"$T/v4" 2>&1
st=$?
check "an edited sealed line fails verification" [ $st = 1 ]
check "and is named by line and epoch" grep -qE 'line [0-9]+ \(epoch [0-9]+\)' "$T/v4"
finish
