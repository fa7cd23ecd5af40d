#!/bin/bash
# Another uid is refused and audited; the owner's allowed binary is served
# and audited with its key id (never the secret); a binary named by a deny
# rule, and one no rule admits, are refused with the rule in the line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pm_init other_uid "$@"
pm_fuse_allow_other

pm_config 'allow_other = yes' "
[file credentials]
format = aws-credentials
profiles = prod
mode = 0444
allow = uid:0 exe:/usr/bin/cat
deny = exe:/usr/bin/curl
"
mount_credfs
F=$MNT/credentials
assert_eq "$(stat -c %a "$F")" 444 "the file is 0444 so other uids reach the policy"

check "uid $PM_NOBODY is refused"
assert_denied "uid $PM_NOBODY: cat gets EACCES" as_nobody /usr/bin/cat "$F"
assert_line "j['event']=='open' and j['decision']=='deny' and j['uid']==$PM_NOBODY and j['file']=='credentials'" \
	"a deny open line with uid $PM_NOBODY"
L=$PM_LAST_LINE
assert_eq "$(json_get "$L" 'j["rule"]')" "default: no rule matched" "the line names the deciding rule"
assert_eq "$(json_get "$L" 'j["exe"]')" /usr/bin/cat "the line names the exe"
assert_eq "$(json_get "$L" 'j["gid"]')" "$PM_NOBODY" "the line carries the gid"
assert_eq "$(json_get "$L" 'len(j.get("key_ids") or [])')" 0 "a denied open carries no key id"

check "the owner's cat is allowed"
assert_served "root: /usr/bin/cat reads the credentials" /usr/bin/cat "$F"
assert_contains "$OUT" "$PM_SK" "cat got the secret key"
assert_line "j['event']=='open' and j['decision']=='allow' and j['uid']==0 and j['exe']=='/usr/bin/cat'" \
	"an allow open line for /usr/bin/cat"
L=$PM_LAST_LINE
assert_eq "$(json_get "$L" 'j["rule"]')" "allow uid:0 exe:/usr/bin/cat" "the allow line names its rule"
assert_eq "$(json_get "$L" "'$PM_AK' in j['key_ids']")" True "key_ids holds the AccessKeyId"
assert_eq "$(json_get "$L" 'j["profiles"]')" "['prod']" "profiles shown"
assert_match "$(json_get "$L" 'j["expires"]')" '^20[0-9][0-9]-' "expires is set"
assert_match "$(json_get "$L" 'j["cmdline"]')" "^/usr/bin/cat $F" "cmdline is recorded"

check "curl (deny rule) and head (no rule) are refused"
run_rc /usr/bin/curl -sS "file://$F"
[ "$RC" != 0 ] || fail "curl read the credentials: $OUT"
assert_not_contains "$OUT" "$PM_AK" "curl got no bytes"
pass "curl file:// fails (rc $RC: $ERR)"
assert_line "j['event']=='open' and j['decision']=='deny' and j['exe']=='/usr/bin/curl'" \
	"a deny line for /usr/bin/curl"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["rule"]')" "deny exe:/usr/bin/curl" "the curl line names the deny rule"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["uid"]')" 0 "curl ran as uid 0"

assert_denied "root: /usr/bin/head gets EACCES" /usr/bin/head -c 100 "$F"
assert_line "j['event']=='open' and j['decision']=='deny' and j['exe']=='/usr/bin/head'" \
	"a deny line for /usr/bin/head"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["rule"]')" "default: no rule matched" "head: no rule matched"

check "counts"
assert_eq "$(count_lines "j['event']=='open' and j['decision']=='allow'")" 1 "exactly one allowed open"
assert_eq "$(count_lines "j['event']=='open' and j['decision']=='deny'")" 3 "exactly three denied opens"
st=$(status_json)
assert_eq "$(json_get "$st" '[f["denials"] for f in j["files"] if f["file"]=="credentials"][0]')" 3 "status counts 3 denials"

assert_no_secrets
say "all passed"
