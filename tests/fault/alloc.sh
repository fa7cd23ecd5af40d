#!/bin/bash
# Allocation failure at each allocation of an open and of a refresh (issue
# 14, "Make it permanent").  The shim (fault_shim.c, $CREDFS_FAULT_ALLOC)
# fails the N-th allocation after it is armed by SIGUSR2, for N = 1, 2, 3,
# ... until the open (and, separately, `credfs refresh` of an exec profile)
# completes without reaching a failure.  At every N: the failing call gets
# a clean error (EIO/ENOMEM for the open, an error message for the
# refresh), never a crash or hang; the daemon still serves the right bytes;
# the cached credential is not lost (the provider is not run again by
# opens); `credfs audit verify` passes.
# $1: credfs, $2: the shim.  Plain build only (the shim cannot load under
# ASan).
set -euo pipefail
. "$(dirname "$0")/../mount/lib.sh"
SHIM=${2:?usage: alloc.sh CREDFS SHIM}
lib_init alloc "$1"
[ -f "$SHIM" ] || fail "no shim at $SHIM"
export CREDFS_FAULT_ALLOC=$T/alloc
echo 0 >"$CREDFS_FAULT_ALLOC"

write_config
# Count the provider's runs: an open must never need one again.
sed -i "2i echo run >>'$T/runs'" "$T/helper.sh"
LD_PRELOAD=$SHIM mount_credfs
assert_contains "$(cat "$MNT/credentials")" "$PROD_AK" "served before any fault"
pid=$(daemon_pid) || fail "no daemon pid"

/usr/bin/python3 - "$CREDFS" "$CFG" "$MNT" "$pid" "$CREDFS_FAULT_ALLOC" \
	"$PROD_AK" "$T/runs" "${CREDFS_ALLOC_MAX:-4000}" <<'EOF'
import errno, os, signal, subprocess, sys, threading, time

credfs, cfg, mnt, pid, base, ak, runs, nmax = sys.argv[1:]
pid, nmax = int(pid), int(nmax)
path = os.path.join(mnt, "credentials")
t0 = time.monotonic()

def fail(msg):
    print("alloc: FAIL: " + msg, file=sys.stderr, flush=True)
    os._exit(1)

def signal_daemon(n):
    for f in (base + ".ack",):
        if os.path.exists(f):
            os.unlink(f)
    with open(base, "w") as f:
        f.write("%d\n" % n)
    os.kill(pid, signal.SIGUSR2)
    end = time.monotonic() + 10
    while not os.path.exists(base + ".ack"):
        if time.monotonic() > end:
            fail("the shim did not acknowledge arming %d" % n)
        time.sleep(0.002)

def alive():
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False

def read_file(timeout=20):
    """Returns (errno name or None, bytes); fails on a hang."""
    res = {}
    def body():
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                data = b""
                while True:
                    b = os.read(fd, 65536)
                    if not b:
                        break
                    data += b
            finally:
                os.close(fd)
            res["v"] = (None, data)
        except OSError as e:
            res["v"] = (errno.errorcode.get(e.errno, str(e.errno)), b"")
    th = threading.Thread(target=body, daemon=True)
    th.start()
    th.join(timeout)
    if th.is_alive():
        fail("an open of %s hung for %d s" % (path, timeout))
    return res["v"]

def nruns():
    with open(runs) as f:
        return len(f.readlines())

def after(what, n):
    what = "%s (failed at %s)" % (what, fired())
    if not alive():
        fail("%s, N=%d: the daemon died" % (what, n))
    e, data = read_file()
    if e or ak.encode() not in data:
        fail("%s, N=%d: the next open: %s %r" % (what, n, e, data[:80]))
    r = subprocess.run([credfs, "-c", cfg, "audit", "verify"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        with open(ALOG) as f:
            tail = f.read()[-1500:]
        fail("%s, N=%d: audit verify: %s%s\n%s" % (what, n, r.stdout, r.stderr, tail))

def fired():
    try:
        with open(base + ".fired") as f:
            return f.read().strip()
    except FileNotFoundError:
        return None

def loop(what, attempt):
    sites = {}
    errors = 0
    for n in range(1, nmax + 1):
        if os.path.exists(base + ".fired"):
            os.unlink(base + ".fired")
        signal_daemon(n)
        result = attempt(n)
        signal_daemon(0)
        site = fired()
        if site is None:
            if result is not None:
                fail("%s, N=%d: failed with no allocation failure: %s"
                     % (what, n, result))
            after(what, n)
            print("alloc: ok: %s: %d allocations, each failed once: %d "
                  "clean errors, %d absorbed, %d call sites (%.0f s)"
                  % (what, n - 1, errors, n - 1 - errors, len(sites),
                     time.monotonic() - t0), flush=True)
            return
        sites[site] = sites.get(site, 0) + 1
        if result is not None:
            errors += 1
        after(what, n)
    fail("%s: still failing allocations after N=%d" % (what, nmax))

runs0 = nruns()

ALOG = os.path.join(os.path.dirname(base), "state", "audit.log")

def audited_opens():
    with open(ALOG, "rb") as f:
        return f.read().count(b'"event":"open"')

def attempt_open(n):
    before = audited_opens()
    e, data = read_file()
    if e is None:
        if ak.encode() not in data:
            fail("open, N=%d: wrong bytes %r" % (n, data[:80]))
        if audited_opens() == before:
            fail("open, N=%d (failed at %s): served without an audit line"
                 % (n, fired()))
        return None
    if e not in ("EIO", "ENOMEM"):
        fail("open, N=%d: unclean error %s" % (n, e))
    return e

loop("open", attempt_open)
if nruns() != runs0:
    fail("opens under allocation failure ran the provider again "
         "(%d runs, was %d): the cached credential was lost"
         % (nruns(), runs0))

def audited(ev):
    with open(ALOG, "rb") as f:
        return f.read().count(b'"event":"%s"' % ev.encode())

def attempt_refresh(n):
    before = audited("refresh")
    try:
        r = subprocess.run([credfs, "-c", cfg, "refresh", "prod"],
                           capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        if os.environ.get("ALLOC_DEBUG"):
            subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex",
                            "thread apply all bt"])
        fail("refresh, N=%d (failed at %s): hung" % (n, fired()))
    if r.returncode == 0:
        if audited("refresh") == before:
            fail("refresh, N=%d (failed at %s): done without an audit line"
                 % (n, fired()))
        return None
    msg = (r.stdout + r.stderr).strip()
    if not msg or r.returncode < 0 or r.returncode >= 128:
        fail("refresh, N=%d (failed at %s): no clean error (rc %d): %r"
             % (n, fired(), r.returncode, msg))
    return msg

loop("refresh", attempt_refresh)
EOF
pass "allocation failures in opens and refreshes"
umount_credfs
say "all passed"
