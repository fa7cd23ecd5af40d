#!/usr/bin/env python3
"""tests/posix/ops.py DIR ROLE USER_UID USER_GID

One fixed sequence of file-system operations in DIR, one line each: the
result (OK or the errno name) and, where the operation changes something,
the owner, group, mode, size and link count of what it touched.  posix.sh
runs it in a plain directory and through a credfs mount of a copy of that
directory and compares the two outputs line by line.

ROLE is who runs it:
  root  as root; checks as other users run in a forked child that drops to
        USER_UID:USER_GID (the test user) or to nobody (65534)
  user  as the test user (USER_UID:USER_GID) in a directory it owns, which
        root prepared with root-owned entries (see posix.sh)
"""
import ctypes
import ctypes.util
import errno
import os
import stat
import sys
import time

DIR, ROLE = sys.argv[1], sys.argv[2]
UID, GID = int(sys.argv[3]), int(sys.argv[4])
NOBODY = 65534
STARTED = time.time()

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
AT_FDCWD = -100


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def utimensat(path, atime, mtime):
    """atime/mtime: seconds (int), or UTIME_NOW / UTIME_OMIT as nsec."""
    ts = (Timespec * 2)()
    for i, t in enumerate((atime, mtime)):
        if t in (UTIME_NOW, UTIME_OMIT):
            ts[i].tv_sec, ts[i].tv_nsec = 0, t
        else:
            ts[i].tv_sec, ts[i].tv_nsec = t, 0
    if libc.utimensat(AT_FDCWD, os.fsencode(path), ts, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def who(i):
    return {0: "root", UID: "user", NOBODY: "nobody"}.get(i, str(i))


def grp(i):
    return {0: "root", GID: "user", NOBODY: "nogroup"}.get(i, str(i))


def when(t):
    # UTIME_NOW is "a time since this run started", not a value to compare
    return "now" if t >= STARTED - 1 and t <= time.time() + 1 else str(int(t))


def st(path, times=False):
    try:
        s = os.lstat(path)
    except OSError as e:
        return "%s=%s" % (path, errno.errorcode.get(e.errno, e.errno))
    out = "%s=%s:%s %s %04o size=%s nlink=%d" % (
        path, who(s.st_uid), grp(s.st_gid),
        "d" if stat.S_ISDIR(s.st_mode) else
        "l" if stat.S_ISLNK(s.st_mode) else
        "p" if stat.S_ISFIFO(s.st_mode) else "f",
        stat.S_IMODE(s.st_mode),
        # a directory's size is the file system's business
        "-" if stat.S_ISDIR(s.st_mode) else s.st_size, s.st_nlink)
    if times:
        out += " atime=%s mtime=%s" % (when(s.st_atime), when(s.st_mtime))
    return out


N = [0]


def res_of(fn):
    try:
        r = fn()
        return "OK" if r is None else "OK %s" % (r,)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def line(desc, res, paths=(), times=False):
    N[0] += 1
    print("%03d %s: %s%s" % (N[0], desc, res,
                             "".join(" | " + st(p, times) for p in paths)))
    sys.stdout.flush()


def do(desc, fn, *paths, times=False):
    line(desc, res_of(fn), paths, times)


def as_other(uid, gid, desc, fn, *paths, umask=0o022):
    """fn runs in a child as uid:gid (no supplementary groups)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            os.umask(umask)
            out = res_of(fn)
        except BaseException as e:  # noqa: B902 - reported, never raised
            out = "child error %r" % (e,)
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    out = b""
    while True:
        b = os.read(r, 4096)
        if not b:
            break
        out += b
    os.close(r)
    os.waitpid(pid, 0)
    line("as %s: %s" % (who(uid), desc), out.decode(), paths)


def create(path, mode=0o666, flags=0):
    def f():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, mode)
        os.close(fd)
    return f


def write(path, data, flags=0):
    def f():
        fd = os.open(path, os.O_WRONLY | flags)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    return f


def read(path):
    def f():
        with open(path, "rb") as fh:
            return "%d bytes" % len(fh.read())
    return f


def umask(m):
    os.umask(m)
    line("umask %04o" % m, "OK")


os.chdir(DIR)
me = os.getuid()
mygid = os.getgid()

# ---- creating: the mode asked for under the umask, the caller's owner ----
umask(0o022)
do("create f1 0666", create("f1"), "f1")
do("write f1", write("f1", b"hello, world\n"), "f1")
do("read f1 back", read("f1"), "f1")
do("create f1 again O_EXCL", create("f1", flags=os.O_EXCL), "f1")
do("create f0644 0644", create("f0644", 0o644), "f0644")
umask(0o077)
do("create f2 0666", create("f2"), "f2")
do("mkdir d2 0777", lambda: os.mkdir("d2", 0o777), "d2")
umask(0o022)
do("mkdir d1 0777", lambda: os.mkdir("d1", 0o777), "d1")
do("mkdir d1/sub 0750", lambda: os.mkdir("d1/sub", 0o750), "d1/sub")
do("create d1/sub/x 0640", create("d1/sub/x", 0o640), "d1/sub/x")
do("mkdir d1 again", lambda: os.mkdir("d1"), "d1")
do("mknod fifo 0666", lambda: os.mkfifo("fifo", 0o666), "fifo")
do("symlink s1 -> f1", lambda: os.symlink("f1", "s1"), "s1")
do("readlink s1", lambda: os.readlink("s1"), "s1")

# ---- setgid directories ----
do("mkdir sg 0777", lambda: os.mkdir("sg", 0o777), "sg")
if ROLE == "root":
    do("chown sg :user", lambda: os.chown("sg", -1, GID), "sg")
do("chmod sg 02775", lambda: os.chmod("sg", 0o2775), "sg")
do("create sg/f 0664", create("sg/f", 0o664), "sg/f")
do("mkdir sg/d 0777", lambda: os.mkdir("sg/d", 0o777), "sg/d")
do("create sg/d/g 0600", create("sg/d/g", 0o600), "sg/d/g")

# ---- chmod, chown ----
do("chmod f1 0640", lambda: os.chmod("f1", 0o640), "f1")
do("chmod f1 04755", lambda: os.chmod("f1", 0o4755), "f1")
do("chmod f1 0644", lambda: os.chmod("f1", 0o644), "f1")
do("chmod d1 0700", lambda: os.chmod("d1", 0o700), "d1")
do("chmod d1 0755", lambda: os.chmod("d1", 0o755), "d1")
do("chmod missing", lambda: os.chmod("missing", 0o644))
do("chown f1 -1:-1", lambda: os.chown("f1", -1, -1), "f1")
do("chown f1 to itself", lambda: os.chown("f1", me, mygid), "f1")
do("chown f1 :own group", lambda: os.chown("f1", -1, mygid), "f1")
if ROLE == "root":
    do("chown f1 user:user", lambda: os.chown("f1", UID, GID), "f1")
    do("chown f1 root:-1", lambda: os.chown("f1", 0, -1), "f1")
    do("chown f1 -1:root", lambda: os.chown("f1", -1, 0), "f1")
    do("chmod f1 06755", lambda: os.chmod("f1", 0o6755), "f1")
    do("chown f1 user:-1 (clears setuid)", lambda: os.chown("f1", UID, -1),
       "f1")
    do("chown f1 root:root", lambda: os.chown("f1", 0, 0), "f1")
    do("chmod f1 0644", lambda: os.chmod("f1", 0o644), "f1")
else:
    do("chown f1 root:-1", lambda: os.chown("f1", 0, -1), "f1")
    do("chown f1 -1:root", lambda: os.chown("f1", -1, 0), "f1")
    do("chown f1 nobody:-1", lambda: os.chown("f1", NOBODY, -1), "f1")

# ---- link ----
do("link f1 l1", lambda: os.link("f1", "l1"), "f1", "l1")
do("link f1 f2 (exists)", lambda: os.link("f1", "f2"), "f1", "f2")
do("link d1 ld (a directory)", lambda: os.link("d1", "ld"), "d1")
do("link missing l9", lambda: os.link("missing", "l9"))
do("link f1 d1/l2 (other dir)", lambda: os.link("f1", "d1/l2"), "f1",
   "d1/l2")

# ---- rename ----
do("rename f2 r2", lambda: os.rename("f2", "r2"), "f2", "r2")
do("rename r2 over l1", lambda: os.rename("r2", "l1"), "r2", "l1", "f1")
do("rename d1/sub/x d2/y (across dirs)", lambda: os.rename("d1/sub/x", "d2/y"),
   "d1/sub/x", "d2/y")
do("rename d1 over non-empty d2", lambda: os.rename("d1", "d2"), "d1", "d2")
do("rename f1 over d2 (a dir)", lambda: os.rename("f1", "d2"), "f1", "d2")
do("rename d1 over f1 (a file)", lambda: os.rename("d1", "f1"), "d1", "f1")
do("rename d1 into d1/sub", lambda: os.rename("d1", "d1/sub/z"), "d1")
do("rename missing", lambda: os.rename("missing", "m2"))
do("mkdir empty", lambda: os.mkdir("empty"), "empty")
do("rename d2/y over d1/l2 (hard link of f1)",
   lambda: os.rename("d2/y", "d1/l2"), "d1/l2", "f1")
do("rename d1/sub over empty dir", lambda: os.rename("d1/sub", "empty"),
   "empty", "d1")
do("rename f1 to itself (hard link)", lambda: os.rename("f1", "f1"), "f1")

# ---- unlink, rmdir ----
do("unlink l1", lambda: os.unlink("l1"), "l1")
do("unlink d2 (a dir)", lambda: os.unlink("d2"), "d2")
do("unlink missing", lambda: os.unlink("missing"))
do("unlink s1 (symlink)", lambda: os.unlink("s1"), "s1", "f1")
do("rmdir sg (not empty)", lambda: os.rmdir("sg"), "sg")
do("rmdir f1 (a file)", lambda: os.rmdir("f1"), "f1")
do("rmdir empty", lambda: os.rmdir("empty"), "empty", "d1")
do("rmdir missing", lambda: os.rmdir("missing"))

# ---- truncate ----
do("truncate f1 4", lambda: os.truncate("f1", 4), "f1")
do("read f1", read("f1"), "f1")
do("truncate f1 100", lambda: os.truncate("f1", 100), "f1")


def ftruncate(path, size):
    def f():
        fd = os.open(path, os.O_WRONLY)
        try:
            os.ftruncate(fd, size)
        finally:
            os.close(fd)
    return f


do("ftruncate f1 0", ftruncate("f1", 0), "f1")
do("truncate d1 (a dir)", lambda: os.truncate("d1", 0), "d1")
do("O_TRUNC f0644", write("f0644", b"abc", os.O_TRUNC), "f0644")
do("truncate f1 -1", lambda: os.truncate("f1", -1), "f1")

# ---- utimens ----
do("utimens f1 1000000000 1500000000",
   lambda: utimensat("f1", 1000000000, 1500000000), "f1", times=True)
do("utimens f1 NOW OMIT", lambda: utimensat("f1", UTIME_NOW, UTIME_OMIT),
   "f1", times=True)
do("utimens f1 1000000000 OMIT",
   lambda: utimensat("f1", 1000000000, UTIME_OMIT), "f1", times=True)
do("utimens f1 OMIT OMIT", lambda: utimensat("f1", UTIME_OMIT, UTIME_OMIT),
   "f1", times=True)
do("utimens f1 OMIT NOW", lambda: utimensat("f1", UTIME_OMIT, UTIME_NOW),
   "f1", times=True)
do("utimens f1 NOW NOW", lambda: utimensat("f1", UTIME_NOW, UTIME_NOW),
   "f1", times=True)
do("utimens d1 1000000000 1000000000",
   lambda: utimensat("d1", 1000000000, 1000000000), "d1", times=True)
do("utimens missing", lambda: utimensat("missing", UTIME_NOW, UTIME_NOW))

if ROLE == "root":
    # ---- other users against root's files, and against each other ----
    do("create secret 0600", create("secret", 0o600), "secret")
    do("create pub 0644", create("pub", 0o644), "pub")
    do("mkdir rodir 0755", lambda: os.mkdir("rodir", 0o755), "rodir")
    do("mkdir sticky 01777",
       lambda: (os.mkdir("sticky"), os.chmod("sticky", 0o1777)) and None,
       "sticky")
    do("create sticky/roots 0666",
       lambda: (create("sticky/roots")(), os.chmod("sticky/roots", 0o666))
       and None, "sticky/roots")
    do("mkdir open 0777",
       lambda: (os.mkdir("open"), os.chmod("open", 0o777)) and None, "open")
    U = (UID, GID)
    as_other(*U, "read secret", read("secret"))
    as_other(*U, "read pub", read("pub"))
    as_other(*U, "write pub", write("pub", b"x"), "pub")
    as_other(*U, "create rodir/x", create("rodir/x"), "rodir/x")
    as_other(*U, "mkdir rodir/y", lambda: os.mkdir("rodir/y"), "rodir/y")
    as_other(*U, "unlink pub", lambda: os.unlink("pub"), "pub")
    as_other(*U, "rename pub pub2", lambda: os.rename("pub", "pub2"), "pub")
    as_other(*U, "chmod pub 0666", lambda: os.chmod("pub", 0o666), "pub")
    as_other(*U, "chown pub user", lambda: os.chown("pub", UID, -1), "pub")
    as_other(*U, "utimens pub explicit",
             lambda: utimensat("pub", 1000000000, 1000000000), "pub")
    as_other(*U, "utimens pub NOW NOW",
             lambda: utimensat("pub", UTIME_NOW, UTIME_NOW), "pub")
    as_other(*U, "truncate pub", lambda: os.truncate("pub", 0), "pub")
    as_other(*U, "link pub sticky/lnk", lambda: os.link("pub", "sticky/lnk"),
             "pub")
    as_other(*U, "unlink sticky/roots", lambda: os.unlink("sticky/roots"),
             "sticky/roots")
    as_other(*U, "utimens sticky/roots NOW NOW (writable)",
             lambda: utimensat("sticky/roots", UTIME_NOW, UTIME_NOW),
             "sticky/roots")
    as_other(*U, "utimens sticky/roots explicit (writable)",
             lambda: utimensat("sticky/roots", 1000000000, 1000000000),
             "sticky/roots")
    as_other(*U, "create open/u 0666 (umask 022)", create("open/u"), "open/u")
    as_other(*U, "write open/u", write("open/u", b"user data\n"), "open/u")
    as_other(*U, "read open/u back", read("open/u"), "open/u")
    as_other(*U, "mkdir open/ud 0777 (umask 077)",
             lambda: os.mkdir("open/ud", 0o777), "open/ud", umask=0o077)
    as_other(*U, "create open/ud/v 0666 (umask 077)", create("open/ud/v"),
             "open/ud/v", umask=0o077)
    as_other(*U, "create sg/u 0666 (setgid dir)", create("sg/u"), "sg/u")
    as_other(*U, "mkdir sg/ud (setgid dir)", lambda: os.mkdir("sg/ud"),
             "sg/ud")
    as_other(*U, "chmod open/u 0600", lambda: os.chmod("open/u", 0o600),
             "open/u")
    as_other(NOBODY, NOBODY, "read open/u (user's, 0600)", read("open/u"))
    as_other(*U, "chmod open/u 02644 (own group)",
             lambda: os.chmod("open/u", 0o2644), "open/u")
    as_other(*U, "chown open/u root", lambda: os.chown("open/u", 0, -1),
             "open/u")
    as_other(*U, "chown open/u :root (not a member)",
             lambda: os.chown("open/u", -1, 0), "open/u")
    as_other(*U, "chown open/u :user", lambda: os.chown("open/u", -1, GID),
             "open/u")
    as_other(*U, "link open/u open/u2", lambda: os.link("open/u", "open/u2"),
             "open/u", "open/u2")
    as_other(*U, "rename open/u2 open/u3",
             lambda: os.rename("open/u2", "open/u3"), "open/u3")
    as_other(*U, "truncate open/u 3", lambda: os.truncate("open/u", 3),
             "open/u")
    as_other(*U, "utimens open/u explicit",
             lambda: utimensat("open/u", 1000000000, 1000000000), "open/u")
    as_other(NOBODY, NOBODY, "unlink open/u3 (dir 0777)",
             lambda: os.unlink("open/u3"), "open/u3", "open/u")
    as_other(NOBODY, NOBODY, "rmdir open/ud (not empty)",
             lambda: os.rmdir("open/ud"), "open/ud")
    as_other(NOBODY, NOBODY, "create sticky/n 0644", create("sticky/n", 0o644),
             "sticky/n")
    as_other(*U, "unlink sticky/n (nobody's, sticky dir)",
             lambda: os.unlink("sticky/n"), "sticky/n")
    as_other(*U, "rename sticky/n sticky/m (nobody's, sticky dir)",
             lambda: os.rename("sticky/n", "sticky/m"), "sticky/n")
    do("chown open/u nobody:nogroup", lambda: os.chown("open/u", NOBODY,
                                                       NOBODY), "open/u")
    do("unlink sticky/n (root)", lambda: os.unlink("sticky/n"), "sticky/n")
else:
    # ---- root's entries in the user's directory (posix.sh made them) ----
    do("read rootfile", read("rootfile"), "rootfile")
    do("write rootfile", write("rootfile", b"x"), "rootfile")
    do("read rootsecret", read("rootsecret"), "rootsecret")
    do("chmod rootfile 0666", lambda: os.chmod("rootfile", 0o666), "rootfile")
    do("chown rootfile user", lambda: os.chown("rootfile", UID, -1),
       "rootfile")
    do("utimens rootfile explicit",
       lambda: utimensat("rootfile", 1000000000, 1000000000), "rootfile")
    do("utimens rootfile NOW NOW",
       lambda: utimensat("rootfile", UTIME_NOW, UTIME_NOW), "rootfile")
    do("truncate rootfile", lambda: os.truncate("rootfile", 0), "rootfile")
    do("create rootdir/x", create("rootdir/x"), "rootdir/x")
    do("mkdir rootdir/y", lambda: os.mkdir("rootdir/y"), "rootdir/y")
    do("unlink rootdir/inner", lambda: os.unlink("rootdir/inner"),
       "rootdir/inner")
    do("rename rootdir/inner inner2",
       lambda: os.rename("rootdir/inner", "inner2"), "rootdir/inner")
    do("rmdir rootdir (not empty)", lambda: os.rmdir("rootdir"), "rootdir")
    do("link rootfile lr", lambda: os.link("rootfile", "lr"), "rootfile")
    do("link rootsecret lr", lambda: os.link("rootsecret", "lr"),
       "rootsecret")
    do("rename rootfile rootfile2 (own dir)",
       lambda: os.rename("rootfile", "rootfile2"), "rootfile2")
    do("unlink rootfile2 (own dir)", lambda: os.unlink("rootfile2"),
       "rootfile2")
    do("create f3 in own dir, chmod 02644 (own group)",
       lambda: (create("f3")(), os.chmod("f3", 0o2644)) and None, "f3")
    do("chown f3 -1:user", lambda: os.chown("f3", -1, GID), "f3")
    do("read f3", read("f3"), "f3")

print("%03d done" % (N[0] + 1))
