#!/bin/sh
# `credfs store` end to end: add/list/rm/import-aws, and proof that a
# planted secret never appears in any file under state_dir (raw, base64 or
# hex) nor in any command output.  TAP.  $1: the credfs binary.
set -u

CREDFS=${1:-}
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { # check DESCRIPTION COMMAND...
	d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
finish() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit $?
}

if [ -z "$CREDFS" ] || [ ! -x "$CREDFS" ]; then
	not_ok "credfs binary given as \$1 ('$CREDFS')"
	finish
fi

T=$(mktemp -d /tmp/credfs-store-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
S=$T/state
CFG=$T/config
OUT=$T/out
mkdir -p "$OUT"
printf '[credfs]\nstate_dir = %s\nkey = keyfile:%s/key\n' "$S" "$S" >"$CFG"
export CREDFS_KDF=min CREDFS_KEYRING=off
export HOME=$T/home
mkdir -p "$HOME"

# A secret that cannot occur by chance, and its encodings.
RND=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
SECRET="PLANTEDsecret${RND}zz+/Q"
TOKEN="PLANTEDtoken$(od -An -N600 -tx1 /dev/urandom | tr -d ' \n')"
encodings() { # the raw value, base64 at the 3 alignments, hex
	printf '%s\n' "$1"
	for pad in "" "a" "ab"; do
		b=$(printf '%s%s' "$pad" "$1" | base64 -w0)
		skip=$(((${#pad} + 2) / 3 * 4 + 1))
		printf '%s' "$b" | cut -c"$skip"- | sed 's/.\{4\}$//'
	done
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
	echo
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n' | tr a-f A-F
	echo
}
no_leak() { # no_leak SECRET: nothing under $S or $OUT contains it
	encodings "$1" >"$T/pat"
	! grep -r -a -F -q -f "$T/pat" "$S" "$OUT"
}

run() { # run NAME ARGS... (stdin passes through); status in $rc
	name=$1
	shift
	"$CREDFS" -c "$CFG" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
	rc=$?
}

# --- add from stdin -------------------------------------------------------
printf 'access_key_id=AKIAPLANTEDTEST00001\n# a comment\n\nsecret_access_key = %s\n' \
	"$SECRET" >"$T/in"
run add store add aws-base <"$T/in"
check "store add exits 0 (rc=$rc: $(cat "$OUT/add.err"))" [ "$rc" -eq 0 ]
check "store add prints the field names" \
	grep -qx 'stored aws-base (fields: access_key_id, secret_access_key)' \
	"$OUT/add.out"
check "state_dir created 0700" [ "$(stat -c %a "$S")" = 700 ]
check "entry sealed at store/aws-base.sealed" [ -s "$S/store/aws-base.sealed" ]
check "keyfile created 0600" [ "$(stat -c %a "$S/key")" = 600 ]
check "every file under state_dir is 0600" \
	[ -z "$(find "$S" -type f ! -perm 600)" ]
check "every directory under state_dir is 0700" \
	[ -z "$(find "$S" -type d ! -perm 700)" ]

run list store list
check "store list exits 0" [ "$rc" -eq 0 ]
check "store list shows names and field names" \
	grep -qx 'aws-base: access_key_id, secret_access_key' "$OUT/list.out"
check "the planted secret is nowhere under state_dir or in any output" \
	no_leak "$SECRET"
# self-test: each encoding of the secret, planted in a file, is found
for i in 1 2 3 4 5 6; do
	sed -n "${i}p" "$T/pat" | sed 's/^/xx/' >"$OUT/selftest"
	if no_leak "$SECRET"; then
		not_ok "self-test: encoding $i of the secret is detected"
	else
		ok "self-test: encoding $i of the secret is detected"
	fi
done
printf 'x%s' "$SECRET" | base64 -w0 >"$OUT/selftest"
if no_leak "$SECRET"; then
	not_ok "self-test: base64 of text around the secret is detected"
else
	ok "self-test: base64 of text around the secret is detected"
fi
rm -f "$OUT/selftest"

# --- field restriction, usage ------------------------------------------------
printf 'secret_access_key=%s\n' "$SECRET" >"$T/in"
run restrict store add aws-x access_key_id <"$T/in"
check "a field not asked for is refused (rc=$rc)" [ "$rc" -eq 1 ]
check "...with a one-line error naming the entry" \
	grep -q '^credfs: store aws-x: .*not asked for' "$OUT/restrict.err"
printf 'access_key_id=AKIAONLY\n' >"$T/in"
run only store add aws-only access_key_id <"$T/in"
check "only the named FIELDs are stored" \
	grep -qx 'stored aws-only (fields: access_key_id)' "$OUT/only.out"
printf 'access_key_id=AKIAX\n' >"$T/in"
run missing store add aws-m access_key_id secret_access_key <"$T/in"
check "a named FIELD without value is an error (rc=$rc)" [ "$rc" -eq 1 ]
printf 'just-a-secret-%s\n' "$SECRET" >"$T/in"
run noeq store add aws-n <"$T/in"
check "a line without = is refused (rc=$rc)" [ "$rc" -eq 1 ]
run usage1 store add </dev/null
check "store add without NAME is a usage error (rc=$rc)" [ "$rc" -eq 2 ]
run usage2 store add ../evil </dev/null
check "an invalid NAME is a usage error (rc=$rc)" [ "$rc" -eq 2 ]
run usage3 store frobnicate </dev/null
check "an unknown subcommand is a usage error (rc=$rc)" [ "$rc" -eq 2 ]
check "no secret in any output after the error paths" no_leak "$SECRET"

# --- replace, rm -------------------------------------------------------------
printf 'access_key_id=AKIAREPLACED\nsecret_access_key=%s\n' "$SECRET" >"$T/in"
run replace store add aws-base <"$T/in"
check "an existing entry is replaced (rc=$rc)" [ "$rc" -eq 0 ]
run rm store rm aws-only
check "store rm exits 0" [ "$rc" -eq 0 ]
check "store rm says what it removed" grep -qx 'removed aws-only' "$OUT/rm.out"
run list2 store list
check "removed entry no longer listed" \
	sh -c "! grep -q aws-only '$OUT/list2.out'"
run rm2 store rm aws-only
check "store rm of a missing entry fails (rc=$rc)" [ "$rc" -eq 1 ]
check "...naming it" grep -q '^credfs: store aws-only: no such entry' \
	"$OUT/rm2.err"

# --- import-aws ----------------------------------------------------------------
AWSF=$T/aws-credentials
cat >"$AWSF" <<EOF
[default]
aws_access_key_id = AKIAPLANTEDDEFAULT01
aws_secret_access_key = $SECRET

[dev]
aws_access_key_id=ASIAPLANTEDDEV000001
aws_secret_access_key=${SECRET}dev
aws_session_token=$TOKEN
region = eu-west-1

[nokeys]
region = us-east-1
EOF
run import store import-aws "$AWSF"
check "import-aws exits 0 (rc=$rc: $(cat "$OUT/import.err"))" [ "$rc" -eq 0 ]
check "import-aws names aws-default" \
	grep -qx 'imported aws-default (fields: access_key_id, secret_access_key)' \
	"$OUT/import.out"
check "import-aws keeps the session token" \
	grep -qx 'imported aws-dev (fields: access_key_id, secret_access_key, session_token)' \
	"$OUT/import.out"
check "import-aws says to remove the plaintext copy" \
	grep -q "shred -u $AWSF" "$OUT/import.out"
check "a profile without keys is skipped with a note" \
	grep -q 'profile nokeys skipped' "$OUT/import.err"
run list3 store list
check "imported entries listed" \
	grep -qx 'aws-dev: access_key_id, secret_access_key, session_token' \
	"$OUT/list3.out"
cp "$AWSF" "$T/aws-copy" && rm -f "$AWSF"
check "no imported secret under state_dir or in outputs" no_leak "$SECRET"
check "no imported 1.2 KB session token either" no_leak "$TOKEN"
mkdir -p "$HOME/.aws" && cp "$T/aws-copy" "$HOME/.aws/credentials"
run import2 store import-aws
check "import-aws defaults to ~/.aws/credentials (rc=$rc)" [ "$rc" -eq 0 ]
rm -rf "$HOME/.aws"
run import3 store import-aws "$T/does-not-exist"
check "import-aws of a missing file fails (rc=$rc)" [ "$rc" -eq 1 ]

# --- a corrupted entry ----------------------------------------------------------
printf 'X' | dd of="$S/store/aws-default.sealed" bs=1 seek=70 conv=notrunc \
	2>/dev/null
run list4 store list
check "a corrupted entry makes list fail (rc=$rc)" [ "$rc" -eq 1 ]
check "...with one line naming it and saying it was set aside" \
	grep -q '^credfs: store aws-default: .*set aside as' "$OUT/list4.err"
check "the bad file is kept as .bad-TIME" \
	sh -c "ls '$S/store/' | grep -q '^aws-default.sealed.bad-'"
check "the other entries still list" grep -q '^aws-base:' "$OUT/list4.out"
check "no secret anywhere at the end" no_leak "$SECRET"
check "no temporary files left" \
	[ -z "$(find "$S" -name '*.tmp-*')" ]

# --- key = passphrase with passphrase_file -------------------------------------
P=$T/pstate
PCFG=$T/pconfig
printf 'correct horse\n' >"$T/pass" && chmod 600 "$T/pass"
printf '[credfs]\nstate_dir = %s\nkey = passphrase\npassphrase_file = %s\n' \
	"$P" "$T/pass" >"$PCFG"
printf 'token=%s\n' "$SECRET" >"$T/in"
"$CREDFS" -c "$PCFG" store add pp <"$T/in" >"$OUT/pp.out" 2>"$OUT/pp.err"
rc=$?
check "passphrase_file unlocks store add (rc=$rc)" \
	grep -qx 'stored pp (fields: token)' "$OUT/pp.out"
check "kdf.json records the Argon2id parameters" \
	grep -q '"opslimit"' "$P/kdf.json"
printf 'wrong horse\n' >"$T/pass"
"$CREDFS" -c "$PCFG" store list </dev/null >"$OUT/pp2.out" 2>"$OUT/pp2.err"
rc=$?
check "a wrong passphrase fails with exit 1 (rc=$rc)" [ "$rc" -eq 1 ]
check "...and says so: $(cat "$OUT/pp2.err")" \
	grep -q 'wrong passphrase' "$OUT/pp2.err"
check "...and sets nothing aside" \
	[ -z "$(find "$P" -name '*.bad-*')" ]
chmod 644 "$T/pass"
"$CREDFS" -c "$PCFG" store list </dev/null >"$OUT/pp3.out" 2>"$OUT/pp3.err"
check "a group/other-readable passphrase_file is refused" \
	grep -q 'group or others' "$OUT/pp3.err"

# --- on a terminal: prompts without echo -----------------------------------------
if command -v python3 >/dev/null 2>&1; then
	python3 - "$CREDFS" "$CFG" "$SECRET" >"$OUT/tty.out" 2>&1 <<'PY'
import os, pty, sys, time, select, signal
credfs, cfg, secret = sys.argv[1:4]
pid, fd = pty.fork()
if pid != 0:
    def give_up(*_):
        os.kill(pid, signal.SIGKILL)
        sys.stdout.write("timed out\n")
        os._exit(1)
    signal.signal(signal.SIGALRM, give_up)
    signal.alarm(30)
if pid == 0:
    os.execv(credfs, [credfs, "-c", cfg, "store", "add", "ttyent",
                      "user", "password"])
out = b""
def expect(what, timeout=10):
    global out
    end = time.time() + timeout
    while what not in out and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
    return what in out
ok = expect(b"user: ")
os.write(fd, b"alice\n")
ok = ok and expect(b"password: ")
os.write(fd, secret.encode() + b"\n")
expect(b"stored ttyent")
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(0 if ok and os.WEXITSTATUS(status) == 0 else 1)
PY
	rc=$?
	check "on a tty each FIELD is prompted (rc=$rc)" [ "$rc" -eq 0 ]
	check "...and stored" grep -q 'stored ttyent (fields: user, password)' \
		"$OUT/tty.out"
	check "...and the typed secret is not echoed" no_leak "$SECRET"
	check "...not even the non-secret field (no echo at all)" \
		sh -c "! grep -q alice '$OUT/tty.out'"
else
	if [ "${CI:-}" = true ]; then
		not_ok "python3 needed for the tty test"
	else
		echo "ok $((n = n + 1)) # SKIP python3 needed for the tty test"
	fi
fi

finish
