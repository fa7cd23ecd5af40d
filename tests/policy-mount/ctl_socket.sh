#!/bin/bash
# The control socket is the owner's alone: mode 0600 inside a 0700
# state_dir, and a peer of another uid is refused by SO_PEERCRED even when
# it can reach the socket.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pm_init ctl_socket "$@"

pm_config "" "
[file credentials]
format = aws-credentials
profiles = prod
"
mount_credfs
SOCK=$T/state/ctl.sock

check "modes"
assert_eq "$(stat -c %a "$SOCK")" 600 "ctl.sock is 0600"
assert_eq "$(stat -c %a "$T/state")" 700 "state_dir is 0700"

check "another uid cannot use it"
run_rc as_nobody "$CREDFS" -c "$CFG" status
[ "$RC" != 0 ] || fail "uid 65534 got status: $OUT"
pass "uid 65534 is refused by the state_dir's mode ($ERR)"

# Open the path to the socket for everyone: SO_PEERCRED still refuses.
chmod 0711 "$T/state"
chmod 0666 "$SOCK"
cat >"$T/peer.py" <<'PEER'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
data = b""
try:
    s.sendall(b'{"cmd":"status"}\n')
    s.settimeout(5)
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except (BrokenPipeError, ConnectionResetError, socket.timeout):
    pass
print("REPLY:" + data.decode(errors="replace"))
PEER
run_rc as_nobody python3 "$T/peer.py" "$SOCK"
assert_eq "$RC" 0 "uid 65534 could connect once the modes were opened ($ERR)"
assert_eq "$OUT" "REPLY:" "and got no reply: SO_PEERCRED refused it"
run_rc python3 "$T/peer.py" "$SOCK"
assert_contains "$OUT" '"ok":true' "the owner still gets a reply"
chmod 0600 "$SOCK"
chmod 0700 "$T/state"

say "all passed"
