#!/bin/bash
# Manifest rollback through a real mount (issue 14, Degraded): the state
# directory's manifest and cache saved, the daemon refreshes past them, the
# old manifest and cache put back (and then the manifest deleted): the old
# credential is never served (a fresh fetch is), the integrity error shows
# in status and the audit log, and `credfs store reanchor` accepts the
# state again.  $1: credfs.
set -euo pipefail
. "$(dirname "$0")/../sealed-mount/smlib.sh"
lib_init rollback "$@"

sm_helper "$T/helper.sh"
sm_config "" "prod" "
[file credentials]
format = aws-credentials
profiles = prod
"
mount_credfs
cat "$MNT/credentials" >/dev/null
old_ak=$(last_ak prod)
cp -a "$T/state/cache" "$T/old-cache"
cp -a "$T/state/manifest.sealed" "$T/old-manifest"
"$CREDFS" -c "$CFG" refresh prod >/dev/null
new_ak=$(last_ak prod)
[ "$old_ak" != "$new_ak" ] || fail "the refresh issued the same key"
umount_credfs

check "the old manifest and cache restored together"
rm -rf "$T/state/cache"
cp -a "$T/old-cache" "$T/state/cache"
cp -a "$T/old-manifest" "$T/state/manifest.sealed"
mount_credfs
out=$(cat "$MNT/credentials")
assert_not_contains "$out" "$old_ak" "the rolled-back cache is not served"
assert_contains "$(status_json)" "rolled back" "status names the rollback"
assert_contains "$(grep '"event":"integrity"' "$T/state/audit.log")" '"name":"manifest"' \
	"an integrity line for the manifest"
umount_credfs

check "the manifest deleted"
rm -rf "$T/state/cache"
cp -a "$T/old-cache" "$T/state/cache"
rm -f "$T/state/manifest.sealed"
mount_credfs
out=$(cat "$MNT/credentials")
assert_not_contains "$out" "$old_ak" "without a manifest the old cache is not served"
assert_contains "$(status_json)" "manifest.sealed: missing" "status names the missing manifest"
umount_credfs

check "store reanchor accepts the state as it is"
out=$("$CREDFS" -c "$CFG" store reanchor 2>&1) || fail "store reanchor: $out"
grep -q '"event":"store_reanchor"' "$T/state/audit.log" || fail "reanchor not audited"
mount_credfs
cat "$MNT/credentials" >/dev/null
assert_not_contains "$(status_json)" "rolled back" "no rollback error after reanchor"
umount_credfs
out=$("$CREDFS" -c "$CFG" audit verify 2>&1) || fail "audit verify: $out"
say "all passed"
