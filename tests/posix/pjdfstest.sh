#!/bin/bash
# pjdfstest (the public POSIX conformance suite) through a credfs mount,
# by hand: it is not in Debian and the test machines have no network to
# fetch it, so the suite runs the differential test (posix.sh) instead.
#
#   tests/posix/pjdfstest.sh PJDFSTEST_SRC [CREDFS] [TEST_DIR...]
#
# PJDFSTEST_SRC is a checkout of github.com/pjd/pjdfstest; this builds its
# helper without autotools, mounts credfs (as root, allow_other, one
# virtual file) over a scratch directory, and runs `prove -r` on the
# given test directories (default: all of them) inside the mount.
set -euo pipefail
SRC=$(readlink -f "${1:?usage: pjdfstest.sh PJDFSTEST_SRC [CREDFS] [TEST_DIR...]}")
CREDFS=$(readlink -f "${2:-$(dirname "$0")/../../build/credfs}")
shift $(($# > 1 ? 2 : 1))
[ "$(id -u)" = 0 ] || {
	echo "pjdfstest.sh: pjdfstest needs root" >&2
	exit 2
}
command -v prove >/dev/null || {
	echo "pjdfstest.sh: prove (perl) is missing" >&2
	exit 2
}

if [ ! -x "$SRC/pjdfstest" ]; then
	cat >"$SRC/config.h" <<'EOF'
#define HAVE_POSIX_FALLOCATE 1
#define HAVE_MKNODAT 1
#define HAVE_MKFIFOAT 1
#define HAVE_FCHMODAT 1
#define HAVE_FCHOWNAT 1
#define HAVE_FSTATAT 1
#define HAVE_LINKAT 1
#define HAVE_OPENAT 1
#define HAVE_READLINKAT 1
#define HAVE_RENAMEAT 1
#define HAVE_SYMLINKAT 1
#define HAVE_UNLINKAT 1
#define HAVE_MKDIRAT 1
#define HAVE_UTIMENSAT 1
#define HAVE_STRUCT_STAT_ST_ATIM 1
#define HAVE_STRUCT_STAT_ST_MTIM 1
#define HAVE_STRUCT_STAT_ST_CTIM 1
EOF
	cc -O1 -D_GNU_SOURCE -DHAVE_CONFIG_H -I"$SRC" -include sys/sysmacros.h \
		-o "$SRC/pjdfstest" "$SRC/pjdfstest.c"
fi

T=$(mktemp -d /tmp/credfs-pjd.XXXXXX)
chmod 755 "$T"
cleanup() {
	"$CREDFS" -c "$T/cf/config" umount --force "$T/mnt" >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -m 700 "$T/cf" "$T/cf/state"
mkdir -m 755 "$T/mnt"
printf 'access_key_id = AKIAPJDFSTEST0000000\nsecret_access_key = %s\n' \
	"$(head -c 30 /dev/urandom | base64 | tr -dc A-Za-z0-9 | head -c 40)" \
	>"$T/cf/base.keys"
chmod 600 "$T/cf/base.keys"
cat >"$T/cf/config" <<EOF
[credfs]
state_dir = $T/cf/state
key = keyfile:$T/cf/state/key
allow_other = yes

[profile base]
provider = aws-static
secret_file = $T/cf/base.keys

[file credentials]
format = aws-credentials
profiles = base
EOF
chmod 600 "$T/cf/config"
"$CREDFS" -c "$T/cf/config" mount "$T/mnt"
mkdir "$T/mnt/run"
dirs=()
for d in "${@:-}"; do
	[ -n "$d" ] && dirs+=("$SRC/tests/$d")
done
[ ${#dirs[@]} -gt 0 ] || dirs=("$SRC/tests")
cd "$T/mnt/run"
prove -r "${dirs[@]}"
