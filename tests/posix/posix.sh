#!/bin/bash
# The passthrough keeps POSIX semantics: one sequence of operations
# (tests/posix/ops.py: create and mkdir under umask 022 and 077, setgid
# directories, chmod, chown, link, rename, unlink, rmdir, truncate, utimens,
# and what other users may not do) runs in a plain directory and through a
# credfs mount of a copy of it, and the two outputs (errno, owner, group,
# mode, size, link count) must be the same line for line.
#
#   root-allow_other  root runs it; the daemon runs as root with allow_other;
#                     the test user and nobody act in forked children
#   user-allow_other  the test user runs it in a directory it owns, holding
#                     entries of root's; the daemon runs as root, allow_other
#   user-own-mount    the same, through the test user's own mount
set -euo pipefail
. "$(dirname "$0")/../mount/lib.sh"
lib_init posix "$@"
[ "$(id -u)" = 0 ] || skip "needs root (other users, a root daemon with allow_other)"
need_cmd setpriv
need_cmd "$PY"
ensure_test_user
[ "$TEST_UID" != 0 ] || fail "CREDFS_TEST_USER=$TEST_USER is root"
[ -u "$(command -v fusermount3)" ] || skip "fusermount3 is not setuid root (the user's own mount)"
OPS=$(readlink -f "$(dirname "$0")/ops.py")

# The build and source dirs may not be reachable by the user: private copies.
mkdir "$T/bin"
cp "$CREDFS" "$T/bin/credfs"
cp "$OPS" "$T/bin/ops.py"
chmod 755 "$T/bin" "$T/bin/credfs" "$T/bin/ops.py"
UCREDFS=$T/bin/credfs
OPS=$T/bin/ops.py

# posix_config DIR CFG [allow_other]: one virtual file over the copy.
posix_config() {
	local dir=$1 cfg=$2
	mkdir -p "$dir/state"
	chmod 700 "$dir/state"
	printf 'access_key_id = %s\nsecret_access_key = %s\n' \
		"$BASE_AK" "$BASE_SK" >"$dir/base.keys"
	chmod 600 "$dir/base.keys"
	cat >"$cfg" <<EOF
[credfs]
state_dir = $dir/state
key = keyfile:$dir/state/key
${3:+allow_other = yes}

[profile base]
provider = aws-static
secret_file = $dir/base.keys

[file credentials]
format = aws-credentials
profiles = base
EOF
	chmod 600 "$cfg"
}

# prepare DIR OWNER: the directory the sequence starts from; for the user
# runs it holds root's entries (rootfile, rootsecret, rootdir/inner).
prepare() {
	local d=$1 owner=$2
	mkdir "$d"
	if [ "$owner" != root ]; then
		echo "root data" >"$d/rootfile"
		chmod 644 "$d/rootfile"
		echo "root secret" >"$d/rootsecret"
		chmod 600 "$d/rootsecret"
		mkdir "$d/rootdir"
		echo inner >"$d/rootdir/inner"
		chmod 755 "$d/rootdir"
		chown "$owner" "$d"
	fi
	chmod 755 "$d"
}

as_user() {
	setpriv --reuid="$TEST_UID" --regid="$TEST_GID" --init-groups \
		env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$TEST_HOME" \
		LANG=C.UTF-8 "$@"
}

FAILED=()
# scenario NAME RUNNER DAEMON: RUNNER (root|user) runs the sequence in a
# plain directory and in a copy mounted by credfs as DAEMON (root|user).
scenario() {
	local name=$1 runner=$2 daemon=$3 s=$T/$1 owner=root role=root
	local run=()
	mkdir "$s"
	chmod 755 "$s"
	if [ "$runner" = user ]; then
		owner=$TEST_UID:$TEST_GID
		role=user
		run=(as_user)
	fi
	prepare "$s/plain" "$owner"
	cp -a "$s/plain" "$s/mnt"

	check "$name: the sequence in a plain directory"
	"${run[@]}" "$PY" "$OPS" "$s/plain" "$role" "$TEST_UID" "$TEST_GID" \
		>"$s/plain.out" 2>"$s/plain.err" ||
		fail "$name: ops.py failed in the plain directory: $(cat "$s/plain.err")"

	check "$name: the sequence through credfs (daemon as $daemon)"
	if [ "$daemon" = root ]; then
		mkdir -m 700 "$s/cf"
		posix_config "$s/cf" "$s/cf/config" yes
		mount_credfs "$s/mnt" "$s/cf/config"
	else
		mkdir -p "$s/cf"
		posix_config "$s/cf" "$s/cf/config"
		chown -R "$TEST_UID:$TEST_GID" "$s/cf"
		chmod 700 "$s/cf"
		_LIB_MOUNTS+=("$s/mnt")
		out=$(as_user "$UCREDFS" -c "$s/cf/config" mount "$s/mnt" 2>&1) ||
			fail "$name: mount as $TEST_USER failed: $out"
		is_mounted "$s/mnt" || fail "$name: $s/mnt is not mounted"
	fi
	"${run[@]}" "$PY" "$OPS" "$s/mnt" "$role" "$TEST_UID" "$TEST_GID" \
		>"$s/mount.out" 2>"$s/mount.err" ||
		say "$name: ops.py failed through the mount: $(cat "$s/mount.err")"

	local n
	n=$(wc -l <"$s/plain.out")
	if diff -u --label "$name: plain directory" --label "$name: through credfs" \
		"$s/plain.out" "$s/mount.out" >"$s/diff"; then
		pass "$name: all $n lines match"
	else
		say "$name: $(grep -c '^-[0-9]' "$s/diff") of $n lines differ:"
		cat "$s/diff"
		FAILED+=("$name")
	fi
}

scenario root-allow_other root root
scenario user-allow_other user root
scenario user-own-mount user user

[ ${#FAILED[@]} = 0 ] || fail "the mount differs from the directory in: ${FAILED[*]}"
say "all passed"
