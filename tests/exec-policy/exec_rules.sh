#!/bin/bash
# `credfs exec` is a policy decision like an open (issue 14): the asking
# process (the control socket's peer, or with no daemon the credfs process
# itself) is identified as an open's caller and the profile's exec_allow /
# exec_deny rules decide; a refusal is a deny line; `credfs lock` refuses
# it; a long-lived key or the root of a source chain is handed out only
# with `exportable = yes`; deny_preload refuses a caller started with
# loader variables, for exec and for an open.  Daemon as root, then no
# daemon (the same rules, applied by the credfs process to itself).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pm_init exec_rules "$@"
ep_runner
ep_static_file "$T/static.ini"

PROFILES="
[profile viarunner]
provider = exec
command = $T/helper.sh
exec_allow = ancestor:$RUNNER

[profile onlycredfs]
provider = exec
command = $T/helper.sh
exec_allow = exe:$CREDFS

[profile notrunner]
provider = exec
command = $T/helper.sh
exec_deny = ancestor:$RUNNER
exec_allow = uid:0

[profile static]
provider = aws-static
secret_file = $T/static.ini

[profile static_ok]
provider = aws-static
secret_file = $T/static.ini
exportable = yes

[profile root]
provider = exec
command = $T/helper.sh

[profile child]
provider = aws-session-token
source = root

[profile clean]
provider = exec
command = $T/helper.sh
deny_preload = yes

[file creds]
format = aws-credentials
profiles = prod
deny_preload = yes
"
pm_config "" "$PROFILES"
run_rc "$CREDFS" -c "$CFG" check
assert_eq "$RC" 0 "credfs check accepts the exec keys ($OUT$ERR)"

# under_runner CMD...: CMD as a child of $RUNNER (not exec'd by it).
under_runner() { "$RUNNER" -c '"$@"; exit $?' runner "$@"; }
# x PROFILE: credfs exec PROFILE, a script so the runner can run it.
cat >"$T/bin/x" <<EOF2
#!/bin/sh
exec "$CREDFS" -c "$CFG" exec "\$1" -- sh -c 'echo RAN; env'
EOF2
chmod 755 "$T/bin/x"
x() { "$T/bin/x" "$@"; }

# The checks that hold with and without a daemon; $1 says which (for the
# audit lines' "daemon").
common_checks() {
	local via=$1
	check "[$via] default rules: the owner's uid"
	assert_exec_ok "[$via] exec prod" x prod

	check "[$via] exec_allow = ancestor:"
	assert_exec_denied "[$via] viarunner outside the runner" "denied by the exec rules of profile viarunner" x viarunner
	assert_line "j['event']=='exec' and j['profile']=='viarunner' and j['decision']=='deny' and j['daemon']==$via" \
		"[$via] the refusal is a deny line"
	assert_eq "$(json_get "$PM_LAST_LINE" 'j["rule"]')" "default: no rule matched" "[$via] no rule matched"
	assert_eq "$(json_get "$PM_LAST_LINE" 'j["command"]')" "sh" "[$via] the command asked for is recorded"
	assert_exec_ok "[$via] viarunner under the runner" under_runner "$T/bin/x" viarunner
	assert_line "j['event']=='exec' and j['profile']=='viarunner' and j['decision']=='allow' and j['daemon']==$via" \
		"[$via] an allow line"
	assert_eq "$(json_get "$PM_LAST_LINE" 'j["rule"]')" "allow ancestor:$RUNNER" "[$via] the ancestor rule decided"
	assert_eq "$(json_get "$PM_LAST_LINE" "'$RUNNER' in j['ancestors']")" True "[$via] the runner among the ancestors"

	check "[$via] exec_deny"
	assert_exec_ok "[$via] notrunner directly" x notrunner
	assert_exec_denied "[$via] notrunner under the runner" "deny ancestor:$RUNNER" under_runner "$T/bin/x" notrunner
	assert_line "j['event']=='exec' and j['profile']=='notrunner' and j['decision']=='deny' and j['rule']=='deny ancestor:$RUNNER'" \
		"[$via] the deny rule decided"

	check "[$via] exe: sees the asking process (credfs)"
	assert_exec_ok "[$via] onlycredfs by credfs" x onlycredfs
	assert_line "j['event']=='exec' and j['profile']=='onlycredfs' and j['decision']=='allow' and j['exe']=='$CREDFS'" \
		"[$via] allowed as exe $CREDFS"

	check "[$via] long-lived keys and source roots"
	assert_exec_denied "[$via] aws-static is not handed out" "long-lived key (provider aws-static); set exportable = yes" x static
	assert_line "j['event']=='exec' and j['profile']=='static' and j['decision']=='deny' and j['rule']=='not exportable'" \
		"[$via] audited as not exportable"
	assert_exec_denied "[$via] a source root is not handed out" "the source of profile child" x root
	assert_exec_ok "[$via] exportable = yes hands it out" x static_ok
	assert_contains "$OUT" "AWS_ACCESS_KEY_ID=$EP_STATIC_AK" "[$via] the static key with exportable = yes"

	check "[$via] deny_preload on a profile"
	assert_exec_ok "[$via] clean without loader variables" x clean
	assert_exec_denied "[$via] clean with LD_LIBRARY_PATH" "deny_preload: LD_LIBRARY_PATH" \
		env LD_LIBRARY_PATH=/nonexistent "$CREDFS" -c "$CFG" exec clean -- sh -c 'echo RAN'
	assert_line "j['event']=='exec' and j['profile']=='clean' and j['rule']=='deny_preload: LD_LIBRARY_PATH' and j['daemon']==$via" \
		"[$via] the deny_preload refusal is audited"
	assert_exec_ok "[$via] an empty LD_PRELOAD loads nothing: allowed" env LD_PRELOAD= "$CREDFS" -c "$CFG" exec clean -- env
}

mount_credfs

check "another executable than credfs asking the socket"
reply=$(ep_ask_socket onlycredfs)
assert_eq "$(json_get "$reply" 'j["ok"]')" False "python's direct request for onlycredfs is refused"
assert_not_contains "$reply" "$PM_SK" "no secret in the refusal"
assert_line "j['event']=='exec' and j['profile']=='onlycredfs' and j['decision']=='deny' and 'python3' in (j['exe'] or '')" \
	"the deny line names the python executable"
reply=$(ep_ask_socket static)
assert_eq "$(json_get "$reply" 'j["ok"]')" False "python's direct request for the aws-static key is refused"
assert_not_contains "$reply" "$EP_STATIC_SK" "the static secret is not in the reply"
reply=$(ep_ask_socket prod)
assert_eq "$(json_get "$reply" 'j["ok"]')" True "the default (owner uid) admits python for prod"

common_checks True

check "deny_preload on a file"
assert_served "cat creds without loader variables" /usr/bin/cat "$MNT/creds"
assert_denied "cat creds with LD_LIBRARY_PATH" env LD_LIBRARY_PATH=/nonexistent /usr/bin/cat "$MNT/creds"
assert_line "j['event']=='open' and j['file']=='creds' and j['decision']=='deny' and j['rule']=='deny_preload: LD_LIBRARY_PATH'" \
	"the file's deny_preload refusal is audited"
assert_denied "cat creds with LD_AUDIT" env LD_AUDIT=/nonexistent.so /usr/bin/cat "$MNT/creds"

check "credfs lock refuses exec"
run_rc "$CREDFS" -c "$CFG" lock
assert_eq "$RC" 0 "credfs lock ($OUT$ERR)"
assert_exec_denied "locked: exec prod refused" "credfs is locked" x prod
assert_line "j['event']=='exec' and j['profile']=='prod' and j['decision']=='deny' and j['rule']=='locked'" \
	"locked: the refusal is audited with rule locked"
reply=$(ep_ask_socket prod)
assert_eq "$(json_get "$reply" 'j["ok"]')" False "locked: a direct request is refused too"
run_rc "$CREDFS" -c "$CFG" unlock
assert_exec_ok "unlocked: exec prod served again" x prod

umount_credfs
common_checks False

run_rc "$CREDFS" -c "$CFG" audit verify
assert_eq "$RC" 0 "audit verify passes ($OUT$ERR)"
assert_no_secrets
say "all passed"
