#!/bin/bash
# exe: rules match what runs, not what the caller's namespace calls it
# (issue 14, item 2).  In a private mount namespace /usr/bin/head (any other
# program would do: python, a shell) is bind-mounted over /usr/bin/cat:
# /proc/PID/exe then reads "/usr/bin/cat", but the file that runs is
# head's.  The open is refused, and the audit line says the path was not
# what ran (exe_mismatch, exe_dev_ino of head).  The same
# with an unprivileged user namespace (unshare -Urm) when the kernel allows
# one; root's unshare -m always runs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pm_init exe_namespace "$@"
pm_fuse_allow_other
need_cmd unshare
IMPOSTOR=$(readlink -f /usr/bin/head)
CAT=$(readlink -f /usr/bin/cat)
[ "$CAT" = /usr/bin/cat ] || fail "/usr/bin/cat is a link to $CAT"

pm_config 'allow_other = yes' "
[file credentials]
format = aws-credentials
profiles = prod
mode = 0444
allow = uid:0 exe:/usr/bin/cat
allow = uid:$PM_NOBODY exe:/usr/bin/cat
"
mount_credfs
F=$MNT/credentials

check "the real cat is served"
assert_served "root: /usr/bin/cat reads the credentials" /usr/bin/cat "$F"
assert_contains "$OUT" "$PM_AK" "cat got the key"
assert_line "j['event']=='open' and j['decision']=='allow' and j['exe']=='/usr/bin/cat'" \
	"an allow line for the real cat"
assert_eq "$(json_get "$PM_LAST_LINE" 'j.get("exe_mismatch", False)')" False \
	"the real cat is no mismatch"

# head started as /usr/bin/cat: "cat -c 4096 FILE" is head's command line.
POSE='mount --bind "$1" /usr/bin/cat && exec /usr/bin/cat -c 4096 "$2"'

check "root: head bind-mounted over /usr/bin/cat in a private mount namespace"
assert_denied "head posing as cat gets EACCES" \
	unshare -m --propagation private sh -c "$POSE" sh "$IMPOSTOR" "$F"
assert_line "j['event']=='open' and j['decision']=='deny' and j['exe']=='/usr/bin/cat' and j.get('exe_mismatch')" \
	"a deny line marks the exe as not what ran"
L=$PM_LAST_LINE
want=$(stat -L -c '%Hd:%Ld:%i' "$IMPOSTOR")
assert_eq "$(json_get "$L" 'j["exe_dev_ino"]')" "$want" "exe_dev_ino is head's ($want)"
assert_eq "$(json_get "$L" 'j["rule"]')" "default: no rule matched" "no rule admitted it"

check "an unprivileged user namespace (unshare -Urm) as uid $PM_NOBODY"
if as_nobody unshare -Urm true 2>/dev/null; then
	assert_denied "head posing as cat (userns) gets EACCES" \
		as_nobody unshare -Urm sh -c "$POSE" sh "$IMPOSTOR" "$F"
	assert_line "j['event']=='open' and j['decision']=='deny' and j['uid']==$PM_NOBODY and j.get('exe_mismatch')" \
		"the userns deny line marks the mismatch"
	assert_served "uid $PM_NOBODY: the real cat is served" as_nobody /usr/bin/cat "$F"
else
	say "unprivileged user namespaces are refused here: root's unshare -m above covers it"
fi

assert_no_secrets
say "all passed"
