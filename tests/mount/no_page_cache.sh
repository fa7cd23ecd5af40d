#!/bin/bash
# No page of a virtual file reaches the page cache, so nothing reads around
# the per-read uid check: a private mapping cannot read the bytes (the
# kernel's page fill is refused: SIGBUS), a shared one cannot be made, and
# sendfile is refused; read(2) still works, and a passthrough file still
# maps and sendfiles as it would without credfs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init no_page_cache "$@"

printf 'plain passthrough bytes\n' >"$MNT/plain.txt"
write_config
mount_credfs

probe() { # FILE HOW: prints what the reader got
	"$PY" - "$1" "$2" <<'PYEOF' 2>/dev/null || echo "died:$?"
import errno, mmap, os, sys
path, how = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDONLY)
try:
    if how == "read":
        print("bytes:" + os.read(fd, 4096).decode(errors="replace").replace("\n", " "))
    elif how in ("private", "shared"):
        flags = mmap.MAP_PRIVATE if how == "private" else mmap.MAP_SHARED
        m = mmap.mmap(fd, os.fstat(fd).st_size, flags=flags, prot=mmap.PROT_READ)
        sys.stdout.write("bytes:" + m[:4096].decode(errors="replace").replace("\n", " ") + "\n")
    elif how == "sendfile":
        r, w = os.pipe()
        n = os.sendfile(w, fd, 0, 4096)
        print("bytes:" + os.read(r, n).decode(errors="replace").replace("\n", " "))
except OSError as e:
    print("errno:" + errno.errorcode.get(e.errno, str(e.errno)))
PYEOF
}

check "read(2) of the virtual file serves the credential"
assert_contains "$(probe "$MNT/credentials" read)" "$PROD_AK" "read works"

check "mmap and sendfile of the virtual file never yield its bytes"
for how in private shared sendfile; do
	got=$(probe "$MNT/credentials" $how)
	assert_not_contains "$got" "$PROD_AK" "$how: no credential bytes ($got)"
	assert_match "$got" '^(died:|errno:)' "$how: refused ($got)"
done

check "a passthrough file still maps and sendfiles"
for how in private shared sendfile; do
	assert_contains "$(probe "$MNT/plain.txt" $how)" "plain passthrough bytes" "passthrough $how"
done
pass "done"
