#!/bin/bash
# exe: matches the resolved executable, not its name: a copy of an allowed
# binary elsewhere is refused.  exe_sha256: pins the content: another binary
# put at an allowed path is refused.  deny_traced = yes refuses a caller
# under a tracer (strace) while the same binary untraced is served.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pm_init exe_rules "$@"
need_cmd strace
need_cmd sha256sum

mkdir -p "$T/x" "$T/bin"
cp /usr/bin/cat "$T/x/cat"
ln -s /usr/bin/cat "$T/x/catlink"
cp /usr/bin/cat "$T/bin/tool"
CATSHA=$(sha256sum /usr/bin/cat | cut -d' ' -f1)
HEADSHA=$(sha256sum /usr/bin/head | cut -d' ' -f1)
[ "$CATSHA" != "$HEADSHA" ] || fail "cat and head have the same hash?"

pm_config "deny_traced = yes" "
[file credentials]
format = aws-credentials
profiles = prod
allow = uid:0 exe:/usr/bin/cat
allow = uid:0 exe_sha256:$CATSHA exe:$T/bin/tool
"
mount_credfs
F=$MNT/credentials

check "exe: is the resolved executable"
assert_served "/usr/bin/cat is served" /usr/bin/cat "$F"
assert_served "a symlink to /usr/bin/cat is /usr/bin/cat" "$T/x/catlink" "$F"
assert_eq "$(count_lines "j['event']=='open' and j['decision']=='allow' and j['exe']=='/usr/bin/cat'")" 2 "both audited with exe /usr/bin/cat"
assert_denied "a copy of cat at $T/x/cat is refused" "$T/x/cat" "$F"
assert_line "j['event']=='open' and j['decision']=='deny' and j['exe']=='$T/x/cat'" "a deny line names the copy"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["rule"]')" "default: no rule matched" "no rule admits the copy"

check "exe_sha256: pins what runs at an allowed path"
assert_served "$T/bin/tool (a copy of cat, matching hash) is served" "$T/bin/tool" "$F"
assert_line "j['event']=='open' and j['decision']=='allow' and j['exe']=='$T/bin/tool'" "an allow line for the tool"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["rule"]')" "allow uid:0 exe_sha256:$CATSHA exe:$T/bin/tool" "the hash rule decided"
cp /usr/bin/head "$T/bin/tool.new"
mv -f "$T/bin/tool.new" "$T/bin/tool"
assert_eq "$(sha256sum "$T/bin/tool" | cut -d' ' -f1)" "$HEADSHA" "the tool is now head"
assert_denied "head put at $T/bin/tool is refused" "$T/bin/tool" "$F"
assert_line "j['event']=='open' and j['decision']=='deny' and j['exe']=='$T/bin/tool'" "a deny line for the replaced tool"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["rule"]')" "default: no rule matched" "the hash rule no longer holds"
# Same content again, new inode: the hash is what counts.
cp /usr/bin/cat "$T/bin/tool.new"
mv -f "$T/bin/tool.new" "$T/bin/tool"
assert_served "cat copied back to $T/bin/tool is served again" "$T/bin/tool" "$F"
# Overwritten in place (same inode, right after a hashed open): the daemon's
# hash cache must not answer for the old content.
ino=$(stat -c %i "$T/bin/tool")
cat /usr/bin/head >"$T/bin/tool"
assert_eq "$(stat -c %i "$T/bin/tool")" "$ino" "overwritten in place"
assert_denied "head written over the tool in place is refused" "$T/bin/tool" "$F"

check "deny_traced = yes"
run_rc strace -f -o /dev/null /usr/bin/cat "$F"
if [ "$RC" = 0 ] || [ -n "$OUT" ]; then
	fail "cat under strace was served (rc $RC): $OUT"
fi
assert_contains "$ERR" "Permission denied" "cat under strace gets EACCES"
assert_line "j['event']=='open' and j['decision']=='deny' and j['exe']=='/usr/bin/cat'" "a deny line for the traced cat"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["rule"]')" deny_traced "the rule is deny_traced"
assert_served "plain cat is still served" /usr/bin/cat "$F"
assert_line "j['event']=='open' and j['decision']=='allow' and j['exe']=='/usr/bin/cat'" "an allow line for plain cat"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["seq"] > 0 and j["rule"]')" "allow uid:0 exe:/usr/bin/cat" "plain cat allowed by its rule"

check "the same config without deny_traced serves the traced cat"
umount_credfs
sed -i 's/^deny_traced = yes$/deny_traced = no/' "$CFG"
mount_credfs
assert_served "cat under strace is served when deny_traced = no" strace -f -o /dev/null /usr/bin/cat "$F"

assert_no_secrets
say "all passed"
