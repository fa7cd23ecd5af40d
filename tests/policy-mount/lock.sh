#!/bin/bash
# `credfs lock` refuses every open of every virtual file (EACCES, audited
# with rule "locked") while passthrough files keep working; `credfs unlock`
# serves again; both are events in the audit log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pm_init lock "$@"

printf '[default]\nregion = eu-west-1\n' >"$MNT/config"
pm_config "" "
[file credentials]
format = aws-credentials
profiles = prod
allow = uid:0 exe:/usr/bin/cat

[file process/prod.json]
format = aws-process
profiles = prod

[file env/prod.env]
format = env
profiles = prod
allow = uid:0
"
mount_credfs
VFILES=(credentials process/prod.json env/prod.env)

check "before the lock every virtual file is served"
for f in "${VFILES[@]}"; do
	assert_served "$f served" /usr/bin/cat "$MNT/$f"
done
assert_eq "$(json_get "$(status_json)" 'j["locked"]')" False "status: not locked"

check "credfs lock"
run_rc "$CREDFS" -c "$CFG" lock
assert_eq "$RC" 0 "credfs lock exits 0 ($OUT$ERR)"
assert_eq "$(json_get "$(status_json)" 'j["locked"]')" True "status: locked"
assert_line "j['event']=='lock'" "a lock event in the audit log"
lockseq=$(json_get "$PM_LAST_LINE" 'j["seq"]')
for f in "${VFILES[@]}"; do
	assert_denied "locked: cat $f gets EACCES" /usr/bin/cat "$MNT/$f"
	e=$(errno_of "os.open('$MNT/$f', os.O_RDONLY)")
	assert_eq "$e" EACCES "locked: python open($f) gets EACCES"
	assert_line "j['event']=='open' and j['file']=='$f' and j['seq']>$lockseq and j['decision']=='deny' and j['exe']=='/usr/bin/cat'" \
		"locked: $f denial audited"
	assert_eq "$(json_get "$PM_LAST_LINE" 'j["rule"]')" locked "locked: $f rule is \"locked\""
done
assert_eq "$(count_lines "j['event']=='open' and j['seq']>$lockseq and j['decision']=='allow'")" 0 "nothing allowed while locked"
assert_eq "$(count_lines "j['event']=='open' and j['seq']>$lockseq and j['rule']=='locked'")" 6 "six locked denials audited"

check "passthrough files still work while locked"
assert_eq "$(cat "$MNT/config")" "$(printf '[default]\nregion = eu-west-1')" "read config"
printf 'output = json\n' >>"$MNT/config"
assert_contains "$(cat "$MNT/config")" "output = json" "append to config"
mkdir -p "$MNT/sso/cache"
echo '{}' >"$MNT/sso/cache/x.json"
assert_eq "$(cat "$MNT/sso/cache/x.json")" "{}" "create a new passthrough file"
assert_contains "$(ls "$MNT")" credentials "the virtual files are still listed"

check "credfs unlock"
run_rc "$CREDFS" -c "$CFG" unlock
assert_eq "$RC" 0 "credfs unlock exits 0 ($OUT$ERR)"
assert_eq "$(json_get "$(status_json)" 'j["locked"]')" False "status: unlocked"
assert_line "j['event']=='unlock'" "an unlock event in the audit log"
unlockseq=$(json_get "$PM_LAST_LINE" 'j["seq"]')
[ "$unlockseq" -gt "$lockseq" ] || fail "unlock ($unlockseq) is not after lock ($lockseq)"
for f in "${VFILES[@]}"; do
	assert_served "unlocked: $f served again" /usr/bin/cat "$MNT/$f"
done
assert_eq "$(count_lines "j['event']=='open' and j['seq']>$unlockseq and j['decision']=='allow'")" 3 "three allowed opens after unlock"
assert_denied "unlocked: the policy still applies (head)" /usr/bin/head "$MNT/credentials"

check "lock and unlock are idempotent and the chain holds"
"$CREDFS" -c "$CFG" lock >/dev/null
"$CREDFS" -c "$CFG" lock >/dev/null
assert_denied "locked twice: still refused" /usr/bin/cat "$MNT/credentials"
"$CREDFS" -c "$CFG" unlock >/dev/null
assert_served "unlocked once: served" /usr/bin/cat "$MNT/credentials"
assert_eq "$(count_lines "j['event'] in ('lock', 'unlock')")" 5 "five lock/unlock events"
run_rc "$CREDFS" -c "$CFG" audit verify
assert_eq "$RC" 0 "audit verify passes ($OUT)"

assert_no_secrets
say "all passed"
