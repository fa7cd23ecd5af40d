#!/bin/bash
# A reader that opens from a non-main thread is audited with its thread id
# (tid != pid) and its thread group (pid).  A descriptor opened by the owner
# and handed to another uid (inherited across setresuid, or passed with
# SCM_RIGHTS) reads nothing: EACCES on read.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pm_init threads_fd "$@"

PYEXE=$("$PY" -c 'import os, sys; print(os.path.realpath(sys.executable))')
pm_config "" "
[file credentials]
format = aws-credentials
profiles = prod
mode = 0444
allow = uid:0 exe:$PYEXE
"
mount_credfs
F=$MNT/credentials

check "open + read in a non-main thread"
out=$("$PY" - "$F" <<'EOF'
import json, os, sys, threading
res = {}
def reader():
    res["tid"] = threading.get_native_id()
    with open(sys.argv[1], "rb") as f:
        res["n"] = len(f.read())
t = threading.Thread(target=reader)
t.start()
t.join()
res["pid"] = os.getpid()
res["main_tid"] = threading.get_native_id()
print(json.dumps(res))
EOF
) || fail "the threaded reader failed: $out"
PID=$(json_get "$out" 'j["pid"]')
TID=$(json_get "$out" 'j["tid"]')
[ "$TID" != "$PID" ] || fail "the reader thread has the process's id"
[ "$(json_get "$out" 'j["n"]')" -gt 0 ] || fail "the thread read nothing"
pass "thread $TID of process $PID read the file"
assert_line "j['event']=='open' and j['decision']=='allow' and j['tid']==$TID" "an allow line with tid $TID"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["pid"]')" "$PID" "pid is the thread group id"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["exe"]')" "$PYEXE" "exe is the interpreter"

check "a descriptor inherited across setresuid($PM_NOBODY) reads nothing"
out=$("$PY" - "$F" "$PM_NOBODY" "$PM_AK" <<'EOF'
import errno, os, sys
path, nobody, ak = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
fd = os.open(path, os.O_RDONLY)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.setgroups([])
    os.setresgid(nobody, nobody, nobody)
    os.setresuid(nobody, nobody, nobody)
    res = []
    for how in ("read", "pread0", "pread1"):
        try:
            data = os.read(fd, 4096) if how == "read" else \
                os.pread(fd, 4096, 0 if how == "pread0" else 1)
            res.append("LEAK" if ak in data else "DATA%d" % len(data))
        except OSError as e:
            res.append(errno.errorcode[e.errno])
    os.write(w, " ".join(res).encode())
    os._exit(0)
os.close(w)
child = os.read(r, 4096).decode()
os.waitpid(pid, 0)
own = os.pread(fd, 4096, 0)
print(child + " | owner:" + ("OK" if ak in own else "NODATA"))
EOF
) || fail "the inherit test failed: $out"
assert_eq "$out" "EACCES EACCES EACCES | owner:OK" "uid $PM_NOBODY gets EACCES on every read; the owner still reads"

check "a descriptor passed with SCM_RIGHTS to a uid $PM_NOBODY process reads nothing"
out=$("$PY" - "$F" "$PM_NOBODY" "$PM_AK" <<'EOF'
import errno, os, socket, sys
path, nobody, ak = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
pid = os.fork()
if pid == 0:
    a.close()
    os.setgroups([])
    os.setresgid(nobody, nobody, nobody)
    os.setresuid(nobody, nobody, nobody)
    msg, fds, _, _ = socket.recv_fds(b, 16, 1)
    try:
        data = os.read(fds[0], 4096)
        res = "LEAK" if ak in data else "DATA%d" % len(data)
    except OSError as e:
        res = errno.errorcode[e.errno]
    b.sendall(("uid%d:%s" % (os.getuid(), res)).encode())
    os._exit(0)
b.close()
fd = os.open(path, os.O_RDONLY)   # opened after the child dropped to nobody
socket.send_fds(a, [b"x"], [fd])
print(a.recv(4096).decode())
os.waitpid(pid, 0)
EOF
) || fail "the SCM_RIGHTS test failed: $out"
assert_eq "$out" "uid$PM_NOBODY:EACCES" "the receiving uid $PM_NOBODY process gets EACCES"

check "the opens were audited as the owner's; no open by uid $PM_NOBODY reached the policy"
assert_eq "$(count_lines "j['event']=='open' and j['decision']=='allow' and j['uid']==0")" 3 "three allowed opens by uid 0"
assert_eq "$(count_lines "j['event']=='open' and j['uid']==$PM_NOBODY")" 0 "no open by uid $PM_NOBODY"

assert_no_secrets
say "all passed"
