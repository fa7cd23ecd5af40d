#!/bin/bash
# The container recipe of examples/containers.md, with bubblewrap as the
# runtime: the recipe's own config (its ```ini block; only the state, key
# and helper paths moved into the test's directory), the mount bound
# read-only over /root/.aws in a container with its own pid and mount
# namespace, running as a non-root user, in a cgroup named as Docker names
# a container's (/system.slice/docker-ID.scope). It reads; it cannot write;
# the same reader outside that cgroup is refused; the audit lines carry the
# host pid and the scope.
#
#   container.sh CREDFS SOURCE_ROOT
set -euo pipefail
. "$(dirname "$0")/../mount/lib.sh"
doc=$(realpath "$2")/examples/containers.md
lib_init container_recipe "$1"
[ "$(id -u)" = 0 ] || skip "needs root (a cgroup, another uid)"
need_cmd bwrap
need_cmd setpriv
cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$cg2" ] || skip "no cgroup v2 hierarchy mounted"

# ---- a cgroup named like a Docker container's scope ----
base=$(sed -n 's/^0:://p' /proc/self/cgroup)
base=${base%/}
scope=docker-credfstest$$.scope
sdir=$cg2$base/system.slice/$scope
made_slice=
[ -d "$cg2$base/system.slice" ] || made_slice=1
mkdir -p "$sdir" || skip "cannot create a cgroup under $cg2$base"
cg_cleanup() {
	for p in $(cat "$sdir/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$sdir" 2>/dev/null && break; sleep 0.1; done
	[ -z "$made_slice" ] || rmdir "$cg2$base/system.slice" 2>/dev/null
	_lib_cleanup
}
trap cg_cleanup EXIT
scope_path=$base/system.slice/$scope

# ---- the recipe's config ----
sed -n '/^```ini$/,/^```$/p' "$doc" | sed '1d;$d' >"$T/recipe.conf"
grep -q '^allow *= *cgroup:/system.slice/docker-\*.scope' "$T/recipe.conf" ||
	fail "the recipe's config has no Docker cgroup rule"
write_helper "$T/helper.sh" ASIACONTAINERRECIPE1 recipe/secret+never/in/logs
sed -e "s#^state_dir .*#state_dir   = $T/state#" \
	-e "s#keyfile:/etc/credfs/key#keyfile:$T/state/key#" \
	-e "s#/usr/local/bin/ci-token#$T/helper.sh#" \
	-e "s#cgroup:/system.slice/#cgroup:$base/system.slice/#" \
	"$T/recipe.conf" >"$CFG"
chmod 600 "$CFG"
out=$("$CREDFS" -c "$CFG" check 2>&1) || fail "credfs check of the recipe: $out"
pass "the recipe's config passes credfs check"
mount_credfs

# container IN_SCOPE CMD: CMD as uid 1000 in a new pid and mount namespace,
# the mount bound read-only at /root/.aws; sets RC, OUT, ERR
container() {
	local in_scope=$1
	shift
	set +e
	OUT=$(
		[ "$in_scope" = yes ] && echo "$BASHPID" >"$sdir/cgroup.procs"
		exec setpriv --reuid=1000 --regid=1000 --clear-groups \
			bwrap --unshare-pid --unshare-ipc --dev-bind / / --proc /proc \
			--tmpfs /root --ro-bind "$MNT" /root/.aws --chdir / \
			--setenv HOME /root "$@" 2>"$T/err"
	)
	RC=$?
	set -e
	ERR=$(cat "$T/err")
}
audit() { # PYEXPR: the number of audit lines where it holds
	"$PY" -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    j = json.loads(l)
    if eval(sys.argv[2]): n += 1
print(n)' "$T/state/audit.log" "$1"
}

check "a container in a Docker-named scope reads the credentials"
container yes /bin/cat /root/.aws/credentials
[ "$RC" = 0 ] || fail "the container's read failed (rc $RC): $ERR"
assert_contains "$OUT" "aws_access_key_id = ASIACONTAINERRECIPE1" "the container got the [default] keys"
assert_contains "$OUT" "[default]" "as the default profile"
[ "$(audit "j['event']=='open' and j['decision']=='allow' and j['cgroup']=='$scope_path' and j['uid']==1000")" -ge 1 ] ||
	fail "no allow line for uid 1000 in $scope_path"
pass "the allow line names uid 1000 and the scope"
[ "$(audit "j['event']=='open' and j['pid'] in (1, 2)")" = 0 ] || fail "an audit line carries a namespace pid"
pass "no audit line carries a pid of the container's namespace"

check "the container cannot write: a read-only bind"
container yes /bin/sh -c 'echo x >>/root/.aws/credentials'
[ "$RC" != 0 ] || fail "a write through the bind succeeded"
pass "a write fails ($ERR)"
container yes /bin/sh -c 'grep " /root/.aws " /proc/self/mounts'
assert_match "$OUT" " /root/.aws fuse[^ ]* ro[, ]" "the container sees the mount read-only"

check "the same reader outside a container's cgroup is refused"
container no /bin/cat /root/.aws/credentials
[ "$RC" != 0 ] && [ -z "$OUT" ] || fail "a reader outside the scope was served"
assert_contains "$ERR" "Permission denied" "cat got EACCES"
[ "$(audit "j['event']=='open' and j['decision']=='deny' and j['uid']==1000")" -ge 1 ] ||
	fail "no deny line for the reader outside the scope"
pass "a deny line for it"

grep -q 'recipe/secret+never/in/logs' "$T/state/audit.log" "$T/state/credfs.log" 2>/dev/null &&
	fail "the secret key appears in a log"
pass "no secret in the audit or daemon log"
say "all passed"
