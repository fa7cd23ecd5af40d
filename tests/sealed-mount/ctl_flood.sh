#!/bin/bash
# 2,000 held control-socket connections: the daemon serves a bounded
# number at once (no thread and no secure memory per held connection),
# answers the rest "busy" at once, drops idle ones after a few seconds,
# and then answers `credfs status` again with secure memory intact.
set -euo pipefail
. "$(dirname "$0")/smlib.sh"
lib_init ctl_flood "$@"
write_config
mount_credfs
pid=$(daemon_pid) || fail "no daemon pid"
threads() { awk '/^Threads:/ {print $2}' "/proc/$pid/status"; }
before=$(threads)
say "daemon threads before: $before"
SOCK=$T/state/ctl.sock

check "2,000 connections held open without a request"
"$PY" - "$SOCK" "$pid" "$T/flood.out" <<'EOF'
import socket, sys, time
path, pid, out = sys.argv[1], sys.argv[2], sys.argv[3]
conns, refused, busy = [], 0, 0
for i in range(2000):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(path)
        conns.append(s)
    except OSError:
        refused += 1
        s.close()
time.sleep(1)
def threads():
    for l in open("/proc/%s/status" % pid):
        if l.startswith("Threads:"):
            return int(l.split()[1])
peak = threads()
# the ones over the limit were told so and closed
for s in conns:
    s.setblocking(False)
    try:
        if b"busy" in s.recv(4096):
            busy += 1
    except OSError:
        pass
with open(out, "w") as f:
    f.write("%d %d %d %d\n" % (len(conns), refused, busy, peak))
# hold them past the idle timeout, then let go
time.sleep(7)
with open(out, "a") as f:
    f.write("%d\n" % threads())
for s in conns:
    s.close()
EOF
read -r held refused busy peak <"$T/flood.out"
after_idle=$(sed -n 2p "$T/flood.out")
say "connected $held, refused $refused, told busy $busy, daemon threads at peak $peak, after the idle timeout $after_idle"
[ "$peak" -le $((before + 40)) ] || fail "held connections made $peak threads (before: $before)"
pass "threads stay bounded ($peak with 2,000 held connections)"
# all but the 16 served at once (CTL_MAX_CONNS) are told at once
[ $((busy + 20)) -ge "$held" ] || fail "only $busy of $held held connections were answered busy"
pass "connections over the limit are answered busy at once ($busy)"
[ "$after_idle" -le $((before + 4)) ] || fail "idle connections still hold $after_idle threads after the idle timeout"
pass "idle connections are dropped ($after_idle threads)"

check "the daemon answers again, secure memory intact"
s=$(status_json) || fail "status after the flood"
assert_eq "$(json_get "$s" 'j["secmem"]["lock_failed"]')" False "secmem lock_failed stays false"
assert_contains "$(cat "$MNT/credentials")" "$PROD_AK" "the mount still serves"
