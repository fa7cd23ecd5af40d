#!/bin/bash
# Everything that is not a virtual file passes through to the covered
# directory, read and write, with the semantics tools rely on: locks,
# mmap, sqlite in WAL mode, the AWS CLI's cache writes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init passthrough "$@"
need_cmd sqlite3

# Mounted over a ~/.aws that already holds files.
MNT=$HOME/.aws
mkdir -p "$MNT/cli/cache"
printf '[default]\nregion = eu-west-1\n' >"$MNT/config"
printf '{"Credentials": {"AccessKeyId": "OLD"}}\n' >"$MNT/cli/cache/x.json"
write_config
mount_credfs "$MNT"

check "existing files read through the mount"
assert_eq "$(cat "$MNT/config")" "$(printf '[default]\nregion = eu-west-1')" "config reads through"
assert_contains "$(cat "$MNT/cli/cache/x.json")" '"OLD"' "cli/cache/x.json reads through"
assert_contains "$(ls "$MNT")" config "ls shows config"
assert_contains "$(ls "$MNT/cli/cache")" x.json "ls cli/cache shows x.json"

check "existing files written through the mount"
printf '[default]\nregion = us-east-2\n' >"$MNT/config"
printf '{"Credentials": {"AccessKeyId": "NEW"}}\n' >"$MNT/cli/cache/x.json"
assert_contains "$(cat "$MNT/config")" us-east-2 "rewritten config reads back"

check "new file, append, truncate, chmod, fsync"
echo first >"$MNT/new.txt"
echo second >>"$MNT/new.txt"
assert_eq "$(cat "$MNT/new.txt")" "$(printf 'first\nsecond')" "append keeps both lines"
printf '0123456789' >"$MNT/trunc.bin"
truncate -s 4 "$MNT/trunc.bin"
assert_eq "$(stat -c %s "$MNT/trunc.bin")" 4 "truncate -s 4 gives size 4"
assert_eq "$(cat "$MNT/trunc.bin")" 0123 "truncated content"
truncate -s 0 "$MNT/trunc.bin"
assert_eq "$(stat -c %s "$MNT/trunc.bin")" 0 "truncate -s 0 gives size 0"
chmod 640 "$MNT/new.txt"
assert_eq "$(stat -c %a "$MNT/new.txt")" 640 "chmod 640 seen through the mount"
assert_eq "$(errno_of "fd = os.open('$MNT/new.txt', os.O_WRONLY | os.O_APPEND); os.write(fd, b'third\n'); os.fsync(fd); os.fdatasync(fd); os.close(fd)")" OK "write + fsync + fdatasync"
assert_eq "$(tail -n1 "$MNT/new.txt")" third "O_APPEND write lands at the end"

check "mkdir, rmdir, rename, unlink"
mkdir -p "$MNT/d1/d2"
assert_eq "$(stat -c %F "$MNT/d1/d2")" directory "mkdir -p d1/d2"
rmdir "$MNT/d1/d2"
[ ! -e "$MNT/d1/d2" ] || fail "rmdir d1/d2 left it"
pass "rmdir d1/d2"
echo moving >"$MNT/d1/a"
mv "$MNT/d1/a" "$MNT/d1/b"
[ ! -e "$MNT/d1/a" ] || fail "rename left the old name"
assert_eq "$(cat "$MNT/d1/b")" moving "rename moves the content"
echo gone >"$MNT/d1/victim"
rm "$MNT/d1/victim"
[ ! -e "$MNT/d1/victim" ] || fail "unlink left the file"
pass "unlink"

check "symlink + readlink, hard link"
ln -s config "$MNT/cfglink"
assert_eq "$(readlink "$MNT/cfglink")" config "readlink gives the target"
assert_contains "$(cat "$MNT/cfglink")" us-east-2 "reading through the symlink"
ln "$MNT/new.txt" "$MNT/hard.txt"
assert_eq "$(stat -c %h "$MNT/hard.txt")" 2 "hard link count 2"
assert_eq "$(cat "$MNT/hard.txt")" "$(cat "$MNT/new.txt")" "hard link has the same bytes"

check "POSIX locks (lockf) and flock between two processes"
echo lockme >"$MNT/lock.file"
cat >"$T/holder.py" <<'EOF'
import fcntl, os, sys, time
path, kind, ready, release = sys.argv[1:5]
f = open(path, "r+")
if kind == "lockf":
    fcntl.lockf(f, fcntl.LOCK_EX)
else:
    fcntl.flock(f, fcntl.LOCK_EX)
open(ready, "w").close()
deadline = time.time() + 20
while not os.path.exists(release) and time.time() < deadline:
    time.sleep(0.05)
EOF
cat >"$T/trylock.py" <<'EOF'
import errno, fcntl, sys
path, kind = sys.argv[1:3]
f = open(path, "r+")
try:
    if kind == "lockf":
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("LOCKED")
except OSError as e:
    print(errno.errorcode[e.errno])
EOF
for kind in lockf flock; do
	rm -f "$T/ready" "$T/release"
	"$PY" "$T/holder.py" "$MNT/lock.file" $kind "$T/ready" "$T/release" &
	holder=$!
	wait_until 10 test -e "$T/ready" || fail "$kind holder never took the lock"
	got=$("$PY" "$T/trylock.py" "$MNT/lock.file" $kind)
	assert_match "$got" '^(EAGAIN|EACCES|EWOULDBLOCK)$' "$kind: second process is refused while the first holds it"
	touch "$T/release"
	wait "$holder"
	got=$("$PY" "$T/trylock.py" "$MNT/lock.file" $kind)
	assert_eq "$got" LOCKED "$kind: second process locks once the first let go"
done

check "mmap read/write of a passthrough file"
"$PY" - "$MNT/mm.bin" <<'EOF'
import mmap, os, sys
p = sys.argv[1]
with open(p, "wb") as f:
    f.write(b"A" * 8192)
with open(p, "r+b") as f:
    m = mmap.mmap(f.fileno(), 8192)
    assert m[:4] == b"AAAA", m[:4]
    m[100:112] = b"mmap-written"
    m[8000:8004] = b"TAIL"
    m.flush()
    m.close()
with open(p, "rb") as f:
    d = f.read()
assert d[100:112] == b"mmap-written" and d[8000:8004] == b"TAIL", "mmap write not visible to read"
EOF
pass "mmap write visible to read(2) through the mount"

check "sqlite3 in WAL mode, a second process reading while the first holds it open"
DB=$MNT/cli/app.db
mkfifo "$T/sqlin"
sqlite3 "$DB" <"$T/sqlin" >"$T/sql1.out" 2>&1 &
sql1=$!
exec 8>"$T/sqlin"
cat >&8 <<EOF
PRAGMA journal_mode=WAL;
CREATE TABLE t(n INTEGER PRIMARY KEY, v TEXT);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000)
INSERT INTO t SELECT x, 'row-' || x FROM c;
COMMIT;
SELECT 'inserted', count(*) FROM t;
EOF
wait_until 15 grep -q '^inserted|1000$' "$T/sql1.out" ||
	fail "first sqlite3 did not insert 1000 rows: $(cat "$T/sql1.out")"
assert_eq "$(head -n1 "$T/sql1.out")" wal "PRAGMA journal_mode=WAL returns wal"
[ -e "$DB-wal" ] || fail "no $DB-wal while the first sqlite3 holds the database"
pass "the -wal file exists while the writer holds the database open"
got=$(sqlite3 "$DB" 'SELECT count(*), sum(n) FROM t;' 2>&1)
assert_eq "$got" "1000|500500" "second sqlite3 reads all 1000 rows while the first is open"
got=$(sqlite3 "$DB" 'PRAGMA integrity_check;' 2>&1)
assert_eq "$got" ok "PRAGMA integrity_check"
echo "INSERT INTO t VALUES (1001, 'late');" >&8
exec 8>&-
wait "$sql1" || fail "first sqlite3 exited non-zero: $(cat "$T/sql1.out")"
assert_eq "$(sqlite3 "$DB" 'SELECT v FROM t WHERE n = 1001;')" late "a write after the reader is seen"

check "the AWS CLI's cache write: ~/.aws/cli/cache/NEW.json"
"$PY" - "$HOME/.aws/cli/cache/NEW.json" <<'EOF'
import json, os, sys
p = sys.argv[1]
# as botocore's JSONFileCache does
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    f.write(json.dumps({"Credentials": {"AccessKeyId": "CACHED"}}))
with open(p) as f:
    assert json.load(f)["Credentials"]["AccessKeyId"] == "CACHED"
EOF
assert_eq "$(stat -c %a "$HOME/.aws/cli/cache/NEW.json")" 600 "cache file mode 0600"

check "virtual files are still there alongside"
assert_contains "$(cat "$MNT/credentials")" "$PROD_AK" "credentials is served"

umount_credfs "$MNT"
check "after unmount, the directory underneath holds what was written"
[ ! -e "$MNT/credentials" ] || fail "credentials exists underneath after unmount"
pass "no virtual file left underneath"
assert_contains "$(cat "$MNT/config")" us-east-2 "config rewrite is underneath"
assert_contains "$(cat "$MNT/cli/cache/x.json")" NEW "x.json rewrite is underneath"
assert_eq "$(cat "$MNT/new.txt")" "$(printf 'first\nsecond\nthird')" "new file is underneath"
assert_eq "$(stat -c %a "$MNT/new.txt")" 640 "chmod is underneath"
assert_eq "$(stat -c %i "$MNT/new.txt")" "$(stat -c %i "$MNT/hard.txt")" "hard link is underneath"
assert_eq "$(readlink "$MNT/cfglink")" config "symlink is underneath"
assert_eq "$(cat "$MNT/d1/b")" moving "renamed file is underneath"
"$PY" -c 'import sys; d = open(sys.argv[1], "rb").read(); assert d[100:112] == b"mmap-written" and d[8000:8004] == b"TAIL"' "$MNT/mm.bin" ||
	fail "mmap write is not underneath"
pass "mmap write is underneath"
assert_eq "$(sqlite3 "$MNT/cli/app.db" 'SELECT count(*) FROM t; PRAGMA integrity_check;')" "$(printf '1001\nok')" "sqlite database is whole underneath"
assert_contains "$(cat "$MNT/cli/cache/NEW.json")" CACHED "cache file is underneath"
say "all passed"
