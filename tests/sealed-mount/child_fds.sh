#!/bin/bash
# A provider's child that outlives the fetch inherits no fd of the daemon:
# not the auto-unmount socket (so a killed daemon's mount goes away while
# the child lives), not /dev/fuse, not the control socket.
set -euo pipefail
. "$(dirname "$0")/smlib.sh"
lib_init child_fds "$@"
cat >"$T/lingering.sh" <<HELPER
#!/bin/sh
# leaves a child behind that keeps every fd it was given but the pipes
sh -c 'echo \$\$ >"$T/child.pid"; exec sleep 300' </dev/null >/dev/null 2>&1 &
exp=\$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
printf '{"Version": 1, "AccessKeyId": "ASIALINGER", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "%s"}\n' "\$exp"
HELPER
chmod 755 "$T/lingering.sh"
write_config "
[profile linger]
provider = exec
command = $T/lingering.sh

[file linger.json]
format = aws-process
profiles = linger
"
mount_credfs
pid=$(daemon_pid) || fail "no daemon pid"
assert_contains "$(cat "$MNT/linger.json")" ASIALINGER "the lingering helper's credential is served"
wait_until 5 test -s "$T/child.pid" || fail "the helper's child did not start"
child=$(cat "$T/child.pid")
_LIB_PIDS+=("$child")
kill -0 "$child" || fail "the helper's child is gone"

check "the child holds nothing of the daemon but stdin/stderr"
fds=$(ls -l "/proc/$child/fd" | awk 'NR > 1 {print $9, $11}')
say "child fds: $(echo "$fds" | tr '\n' ';')"
bad=$(echo "$fds" | awk '$1 > 2' | grep -E 'socket:|/dev/fuse|ctl\.sock' || true)
[ -z "$bad" ] || fail "the provider's child inherited: $bad"
pass "no socket or /dev/fuse beyond fd 2"

check "kill -9 of the daemon unmounts while the child lives"
kill -9 "$pid"
wait_until 10 sh -c "! grep -q ' $MNT fuse' /proc/mounts" || fail "the mount outlives the killed daemon (auto_unmount held open by the provider's child)"
kill -0 "$child" || fail "the child died too: the test shows nothing"
pass "the mount went away with the daemon while the child $child lives"
