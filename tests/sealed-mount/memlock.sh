#!/bin/bash
# RLIMIT_MEMLOCK with many secrets in memory: 2,000 profiles (aws-static
# from one secret_file, plus exec ones every 100th), each read once.  Prints
# VmLck against `ulimit -l` and the daemon's secmem status; asserts that
# every file is served and that secmem's report agrees with the kernel.
set -euo pipefail
. "$(dirname "$0")/smlib.sh"
lib_init memlock "$@"
N=${MEMLOCK_PROFILES:-2000}

sm_helper "$T/helper.sh"
printf 'access_key_id = AKIAMEMLOCKTEST00001\nsecret_access_key = %s\n' \
	"$(head -c 30 /dev/urandom | base64 -w0)" >"$T/static.keys"
chmod 600 "$T/static.keys"
{
	printf '[credfs]\nstate_dir = %s/state\nkey = keyfile:%s/state/key\n' "$T" "$T"
	for i in $(seq "$N"); do
		if [ $((i % 100)) = 0 ]; then
			printf '\n[profile p%d]\nprovider = exec\ncommand = %s/helper.sh p%d\n' "$i" "$T" "$i"
		else
			printf '\n[profile p%d]\nprovider = aws-static\nsecret_file = %s/static.keys\n' "$i" "$T"
		fi
		printf '[file p%d.json]\nformat = aws-process\nprofiles = p%d\n' "$i" "$i"
	done
} >"$CFG"
chmod 600 "$CFG"
out=$("$CREDFS" -c "$CFG" check 2>&1) || fail "credfs check: $out"
say "limits: ulimit -l = $(ulimit -l) KiB (hard $(ulimit -Hl))"
# status --json is too big for lib.sh's json_get (argv): parse from stdin
sj() { # PYTHON-EXPR on j
	"$CREDFS" -c "$CFG" status --json |
		"$PY" -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
_LIB_MOUNTS+=("$MNT")
out=$("$CREDFS" -c "$CFG" mount "$MNT" 2>&1) || fail "mount failed: $out"
pid=$(sj 'j["pid"]')
_LIB_PIDS+=("$pid")
say "after mount: $(grep -E '^(VmLck|VmRSS)' "/proc/$pid/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
t0=$SECONDS
"$PY" - "$MNT" "$N" <<'PYEOF' || fail "not every file was served"
import json, os, sys
from concurrent.futures import ThreadPoolExecutor
mnt, n = sys.argv[1], int(sys.argv[2])
def one(i):
    with open(os.path.join(mnt, "p%d.json" % i)) as f:
        j = json.load(f)
    return bool(j.get("AccessKeyId"))
with ThreadPoolExecutor(16) as ex:
    ok = list(ex.map(one, range(1, n + 1)))
bad = [i + 1 for i, v in enumerate(ok) if not v]
if bad:
    print("files without a key: %s" % bad[:10], file=sys.stderr)
    sys.exit(1)
PYEOF
pass "all $N files served ($((SECONDS - t0)) s)"
assert_eq "$(calls p100)" 1 "the exec profiles ran once each"
vmlck=$(sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status")
inuse=$(sj 'j["secmem"]["bytes_in_use"]')
locked=$(sj 'j["secmem"]["bytes_locked"]')
failed=$(sj 'j["secmem"]["lock_failed"]')
lim=$(grep '^Max locked memory' "/proc/$pid/limits" | tr -s ' ')
say "MEMLOCK: $N profiles read once: VmLck ${vmlck} kB; daemon limit: ${lim#Max locked memory }"
say "MEMLOCK: secmem bytes_in_use $inuse, bytes_locked $locked, lock_failed $failed"
[ -n "$vmlck" ] || fail "no VmLck in /proc/$pid/status"
[ "$inuse" -gt 0 ] || fail "secmem reports no bytes in use with $N credentials cached"
# (secmem's bytes_locked is taken inside the status request, whose own
# buffers are secmem too, so it runs ahead of an earlier VmLck sample.)
if sanitized; then
	say "MEMLOCK: NOTE: ASan build: its mlock() is a no-op that succeeds, so VmLck stays 0 and lock_failed false; limits not checked"
elif [ "$failed" = False ]; then
	[ "$locked" -ge "$inuse" ] ||
		fail "lock_failed is false but only $locked of $inuse secmem bytes are locked"
	[ "$vmlck" -gt 0 ] || fail "lock_failed is false but VmLck is 0"
fi
soft=$(ulimit -l)
if sanitized; then
	:
elif [ "$(id -u)" = 0 ]; then
	say "MEMLOCK: the daemon runs as root (CAP_IPC_LOCK): RLIMIT_MEMLOCK does not bound its mlock"
elif [ "$soft" != unlimited ] && [ "$vmlck" -ge $((soft - 64)) ] && [ "$failed" != True ]; then
	fail "VmLck $vmlck kB is at RLIMIT_MEMLOCK ($soft KiB) but secmem reports no lock failure"
fi
case "$failed" in
True) say "MEMLOCK: RLIMIT_MEMLOCK was reached: newer secmem slabs are not locked (may be swapped out)" ;;
*) say "MEMLOCK: every secmem slab is locked" ;;
esac
pass "status secmem report is consistent with /proc (lock_failed=$failed)"
out=$("$CREDFS" -c "$CFG" umount "$MNT" 2>&1) || fail "umount: $out"

check "as an unprivileged user, whose mlock RLIMIT_MEMLOCK does bound"
if [ "$(id -u)" != 0 ]; then
	say "MEMLOCK: already unprivileged: the measurement above is the user's"
	sm_done
	exit 0
fi
ensure_test_user
[ -u "$(command -v fusermount3)" ] || skip "fusermount3 is not setuid root"
[ -d "$TEST_HOME" ] || skip "$TEST_USER has no home directory"
mkdir "$T/bin"
cp "$CREDFS" "$T/bin/credfs"
chmod 755 "$T/bin" "$T/bin/credfs"
U=$(mktemp -d "$TEST_HOME/credfs-mt-memlock.XXXXXX")
_LIB_DIRS+=("$U")
mkdir -p "$U/mnt" "$U/state"
sm_helper "$U/helper.sh" "$U"
cp "$T/static.keys" "$U/static.keys"
sed -e "s|$T/state|$U/state|g" -e "s|$T/helper.sh|$U/helper.sh|g" \
	-e "s|$T/static.keys|$U/static.keys|g" "$CFG" >"$U/config"
chown -R "$TEST_UID:$TEST_GID" "$U"
chmod 700 "$U" "$U/state"
chmod 600 "$U/config" "$U/static.keys"
cat >"$T/readall.py" <<'PYEOF'
import json, os, sys
from concurrent.futures import ThreadPoolExecutor
mnt, n = sys.argv[1], int(sys.argv[2])
def one(i):
    with open(os.path.join(mnt, "p%d.json" % i)) as f:
        return bool(json.load(f).get("AccessKeyId"))
with ThreadPoolExecutor(16) as ex:
    ok = list(ex.map(one, range(1, n + 1)))
print(sum(ok))
PYEOF
chmod 644 "$T/readall.py"
usj() { # PYTHON-EXPR on j
	run_as_user env CREDFS_KEYRING=off "$T/bin/credfs" -c "$U/config" status --json |
		"$PY" -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
# the default limit, then one too small for 2,000 credentials
for lim in "$(ulimit -l)" 64; do
	_LIB_MOUNTS+=("$U/mnt")
	out=$(run_as_user sh -c "ulimit -l $lim && exec env CREDFS_KEYRING=off '$T/bin/credfs' -c '$U/config' mount '$U/mnt'" 2>&1) ||
		fail "mount as $TEST_USER (ulimit -l $lim) failed: $out"
	upid=$(usj 'j["pid"]')
	_LIB_PIDS+=("$upid")
	got=$(run_as_user python3 "$T/readall.py" "$U/mnt" "$N") || fail "reading as $TEST_USER failed"
	assert_eq "$got" "$N" "ulimit -l $lim: all $N files served to $TEST_USER"
	vmlck=$(sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$upid/status")
	failed=$(usj 'j["secmem"]["lock_failed"]')
	inuse=$(usj 'j["secmem"]["bytes_in_use"]')
	say "MEMLOCK (uid $TEST_UID, ulimit -l $lim KiB): VmLck $vmlck kB, secmem in use $inuse bytes, lock_failed $failed"
	if sanitized; then
		say "MEMLOCK: NOTE: ASan build: mlock is a no-op, limits not checked"
	else
		[ "$lim" = unlimited ] || [ "$vmlck" -le "$lim" ] ||
			fail "VmLck $vmlck kB exceeds RLIMIT_MEMLOCK $lim KiB"
		if [ "$lim" != unlimited ] && [ "$vmlck" -ge $((lim - 64)) ] &&
			[ "$failed" != True ]; then
			fail "VmLck $vmlck kB is at RLIMIT_MEMLOCK ($lim KiB) but secmem reports no lock failure"
		fi
		if [ "$lim" = 64 ]; then
			assert_eq "$failed" True "with ulimit -l 64 secmem reports lock_failed (and still serves)"
		fi
	fi
	run_as_user "$T/bin/credfs" -c "$U/config" umount "$U/mnt" >/dev/null 2>&1 ||
		fusermount3 -u -z "$U/mnt"
	wait_until 5 sh -c "! kill -0 $upid 2>/dev/null" || true
done
sm_done "$T/state/credfs.log" "$U/state/credfs.log"
