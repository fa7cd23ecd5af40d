#!/bin/bash
# view = per-caller: a two-profile credentials file shows each caller only
# the profiles its rule admits, and st_size is what that caller would read
# (0 for a caller no rule admits).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pm_init per_caller "$@"

DEV_AK=ASIAPOLICYMOUNTDEV01
DEV_SK=pmDevSecret/Never+Logged/5e6f7a8b
DEV_TOK=pmDevToken/NotInAudit/deadbeef
pm_write_helper "$T/dev.sh" "$DEV_AK" "$DEV_SK" "$DEV_TOK"

pm_config "" "
[profile dev]
provider = exec
command = $T/dev.sh

[file credentials]
format = aws-credentials
profiles = prod dev
view = per-caller
allow = uid:0 exe:/usr/bin/cat profiles:prod
allow = uid:0 exe:/usr/bin/head profiles:dev
allow = uid:0 exe:/usr/bin/ls profiles:prod
allow = uid:0 exe:/usr/bin/find profiles:dev
allow = uid:0 exe:/usr/bin/tac
"
mount_credfs
F=$MNT/credentials

sections() { printf '%s\n' "$1" | grep -E '^\[' | tr '\n' ' ' | sed 's/ $//'; }

check "cat sees only [prod]"
run_rc /usr/bin/cat "$F"
assert_eq "$RC" 0 "cat reads ($ERR)"
CAT_OUT=$OUT
assert_eq "$(sections "$CAT_OUT")" "[prod]" "cat's sections"
assert_contains "$CAT_OUT" "$PM_AK" "cat gets prod's key"
assert_not_contains "$CAT_OUT" "$DEV_AK" "cat does not get dev's key"
assert_not_contains "$CAT_OUT" "$DEV_SK" "cat does not get dev's secret"
CAT_LEN=$(/usr/bin/cat "$F" | wc -c)

check "head sees only [dev]"
run_rc /usr/bin/head -c 65536 "$F"
assert_eq "$RC" 0 "head reads ($ERR)"
HEAD_OUT=$OUT
assert_eq "$(sections "$HEAD_OUT")" "[dev]" "head's sections"
assert_contains "$HEAD_OUT" "$DEV_AK" "head gets dev's key"
assert_not_contains "$HEAD_OUT" "$PM_AK" "head does not get prod's key"
assert_not_contains "$HEAD_OUT" "$PM_SK" "head does not get prod's secret"
HEAD_LEN=$(/usr/bin/head -c 65536 "$F" | wc -c)

check "a rule without profiles: sees both"
run_rc /usr/bin/tac "$F"
assert_eq "$RC" 0 "tac reads ($ERR)"
assert_eq "$(printf '%s\n' "$OUT" | grep -cE '^\[(prod|dev)\]$')" 2 "tac sees both sections"

check "st_size is what each caller reads"
# the two views differ in length, so a size from the wrong view shows
[ "$CAT_LEN" != "$HEAD_LEN" ] || fail "both views have the same length ($CAT_LEN)"
assert_eq "$(/usr/bin/stat -c %s "$F")" 0 "stat (no rule) sees size 0"
LS_SIZE=$(/usr/bin/ls -ln "$F" | awk '{ print $5 }')
assert_eq "$LS_SIZE" "$CAT_LEN" "ls (profiles:prod) sees the size of cat's view"
FIND_SIZE=$(/usr/bin/find "$F" -printf '%s')
assert_eq "$FIND_SIZE" "$HEAD_LEN" "find (profiles:dev) sees the size of head's view"

check "the audit lines name each caller's profiles and keys"
assert_line "j['event']=='open' and j['decision']=='allow' and j['exe']=='/usr/bin/cat'" "cat's allow line"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["profiles"]')" "['prod']" "cat: profiles [prod]"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["key_ids"]')" "['$PM_AK']" "cat: key_ids [prod's]"
assert_line "j['event']=='open' and j['decision']=='allow' and j['exe']=='/usr/bin/head'" "head's allow line"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["profiles"]')" "['dev']" "head: profiles [dev]"
assert_eq "$(json_get "$PM_LAST_LINE" 'j["key_ids"]')" "['$DEV_AK']" "head: key_ids [dev's]"
assert_line "j['event']=='open' and j['decision']=='allow' and j['exe']=='/usr/bin/tac'" "tac's allow line"
assert_eq "$(json_get "$PM_LAST_LINE" 'sorted(j["key_ids"])')" "$(printf "['%s', '%s']" "$PM_AK" "$DEV_AK" | "$PY" -c 'import ast,sys; print(sorted(ast.literal_eval(sys.stdin.read())))')" "tac: both key ids"

assert_no_secrets
say "all passed"
