#!/bin/bash
# `credfs exec` against a daemon running as the unprivileged credfs-test:
# the owner's uid is the default, ancestor: rules decide, lock refuses,
# the aws-static key stays in unless exportable.  The credfs client is not
# dumpable (it receives the credential), so such a daemon cannot see its
# executable or environment: exe: and deny_preload exec rules fail closed
# ("unidentified caller", "environment unreadable") rather than guess.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pm_init exec_user "$@"
ensure_test_user
[ "$TEST_UID" != 0 ] || fail "CREDFS_TEST_USER=$TEST_USER is root"
[ -u "$(command -v fusermount3)" ] || skip "fusermount3 is not setuid root"
ep_runner
ep_static_file "$T/static.ini"
cp "$CREDFS" "$T/bin/credfs"
chmod 755 "$T/bin/credfs"
UCREDFS=$T/bin/credfs

pm_config "" "
[profile viarunner]
provider = exec
command = $T/helper.sh
exec_allow = ancestor:$RUNNER

[profile onlycredfs]
provider = exec
command = $T/helper.sh
exec_allow = exe:$UCREDFS

[profile static]
provider = aws-static
secret_file = $T/static.ini

[profile static_ok]
provider = aws-static
secret_file = $T/static.ini
exportable = yes

[profile clean]
provider = exec
command = $T/helper.sh
deny_preload = yes
"
chown -R "$TEST_UID:$TEST_GID" "$T/state" "$MNT" "$CFG" "$T/static.ini"
cat >"$T/bin/x" <<EOF2
#!/bin/sh
exec "$UCREDFS" -c "$CFG" exec "\$1" -- sh -c 'echo RAN; env'
EOF2
chmod 755 "$T/bin/x"
ux() { run_as_user "$T/bin/x" "$@"; }
ux_runner() { run_as_user "$RUNNER" -c '"$@"; exit $?' runner "$T/bin/x" "$@"; }

_LIB_MOUNTS+=("$MNT")
out=$(run_as_user "$UCREDFS" -c "$CFG" mount "$MNT" 2>&1) || fail "mount as $TEST_USER: $out"
pid=$(json_get "$(run_as_user "$UCREDFS" -c "$CFG" status --json)" 'j["pid"]')
_LIB_PIDS+=("$pid")
assert_eq "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" "$TEST_UID" "the daemon runs as $TEST_USER"

check "the owner's uid by default; root is not the owner"
assert_exec_ok "$TEST_USER: exec prod" ux prod
assert_line "j['event']=='exec' and j['profile']=='prod' and j['decision']=='allow' and j['uid']==$TEST_UID and j['daemon']" \
	"an allow line for $TEST_USER"
assert_exec_denied "root asking the user's daemon is refused" "default: owner uid" "$UCREDFS" -c "$CFG" exec prod -- sh -c 'echo RAN'

check "ancestor: rules see the credfs client's parents"
assert_exec_denied "viarunner outside the runner" "denied by the exec rules of profile viarunner" ux viarunner
assert_exec_ok "viarunner under the runner" ux_runner viarunner
assert_line "j['event']=='exec' and j['profile']=='viarunner' and j['decision']=='allow' and j['rule']=='allow ancestor:$RUNNER'" \
	"the ancestor rule decided"

check "what such a daemon cannot see fails closed"
assert_exec_denied "exe: of the non-dumpable client" "unidentified caller" ux onlycredfs
assert_exec_denied "deny_preload without the client's environment" "environment unreadable" ux clean

check "lock, and the long-lived key"
run_rc run_as_user "$UCREDFS" -c "$CFG" lock
assert_eq "$RC" 0 "credfs lock ($OUT$ERR)"
assert_exec_denied "locked: exec prod refused" "credfs is locked" ux prod
assert_line "j['event']=='exec' and j['profile']=='prod' and j['decision']=='deny' and j['rule']=='locked'" "audited as locked"
run_rc run_as_user "$UCREDFS" -c "$CFG" unlock
assert_eq "$RC" 0 "credfs unlock ($OUT$ERR)"
assert_exec_denied "aws-static is not handed out" "long-lived key" ux static
assert_exec_ok "exportable = yes hands it out" ux static_ok
assert_contains "$OUT" "AWS_ACCESS_KEY_ID=$EP_STATIC_AK" "the static key with exportable = yes"

out=$(run_as_user "$UCREDFS" -c "$CFG" umount "$MNT" 2>&1) || fail "umount: $out"
run_rc run_as_user "$UCREDFS" -c "$CFG" audit verify
assert_eq "$RC" 0 "audit verify passes ($OUT$ERR)"
assert_no_secrets
say "all passed"
