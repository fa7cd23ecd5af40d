#!/bin/bash
# After a restart the first read is served from the sealed cache: the
# provider sees no new request, and status shows the same key id and expiry.
set -euo pipefail
. "$(dirname "$0")/smlib.sh"
lib_init restart_cache "$@"

sm_helper "$T/helper.sh"
sm_config "" "prod" "
[file credentials]
format = aws-credentials
profiles = prod

[file process/prod.json]
format = aws-process
profiles = prod
"

mount_credfs
cat "$MNT/credentials" >"$T/first.txt" || fail "first read failed"
assert_eq "$(calls prod)" 1 "the first read made one provider call"
ak=$(last_ak prod)
assert_eq "$(aws_field "$T/first.txt" prod aws_access_key_id)" "$ak" \
	"the first read serves the provider's key"
[ -s "$T/state/cache/prod.sealed" ] || fail "no sealed cache file after a fetch"
pass "cache/prod.sealed written"
kid1=$(sm_status_field prod key_id)
exp1=$(sm_status_field prod expires)
[ -n "$kid1" ] && [ -n "$exp1" ] || fail "status has no key_id/expires: [$kid1] [$exp1]"
say "before restart: key_id $kid1 expires $exp1"

check "umount (daemon exits), mount again"
umount_credfs
mount_credfs
assert_eq "$(sm_status_field prod fetches)" 0 "the new daemon has fetched nothing yet"
cat "$MNT/credentials" >"$T/second.txt" || fail "read after restart failed"
assert_eq "$(calls prod)" 1 "the provider's request log shows no new call"
assert_eq "$(aws_field "$T/second.txt" prod aws_access_key_id)" "$ak" \
	"the restarted daemon serves the cached key"
assert_eq "$(aws_field "$T/second.txt" prod aws_session_token)" "$(last_tok prod)" \
	"the restarted daemon serves the cached session token"
pj=$(cat "$MNT/process/prod.json")
assert_eq "$(json_get "$pj" 'j["AccessKeyId"]')" "$ak" "process/prod.json serves the cached key"
assert_eq "$(sm_status_field prod key_id)" "$kid1" "status: same key id as before the restart"
assert_eq "$(sm_status_field prod expires)" "$exp1" "status: same expiry as before the restart"
assert_eq "$(sm_status_field prod fetches)" 0 "status: no fetch by the new daemon"
assert_eq "$(calls prod)" 1 "still one provider call in all"

check "kill -9 (no clean shutdown), mount again: still served from the cache"
pid=$(daemon_pid)
kill -9 "$pid"
wait_until 5 sh -c "! kill -0 $pid 2>/dev/null" || fail "daemon survived kill -9"
mount_credfs
cat "$MNT/credentials" >"$T/third.txt" || fail "read after kill -9 + mount failed"
assert_eq "$(aws_field "$T/third.txt" prod aws_access_key_id)" "$ak" \
	"served from the cache after kill -9"
assert_eq "$(calls prod)" 1 "no provider call after kill -9 + restart"
[ -z "$(bad_files)" ] || fail "a sealed file was set aside: $(bad_files)"
pass "no sealed file set aside"
umount_credfs
sm_done
