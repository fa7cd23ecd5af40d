#!/bin/bash
# The systemd units: `systemd-analyze verify` accepts both, with no
# warning (it only warns about an unknown key, so any output fails), the
# user unit instantiated for a mount point escaped with
# `systemd-escape --path`; both are Type=notify units that run
# `credfs mount -f` and stop with `credfs umount`; the system unit takes
# the passphrase from LoadCredential=.
#
#   units.sh USER_UNIT.test SYSTEM_UNIT.test [MAN_PAGE...]
# (the copies meson configured to run the credfs of the build directory)
user_unit=$1 system_unit=$2
shift 2
n=0 fail=0
t() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}
for tool in systemd-analyze systemd-escape; do
	if ! command -v $tool >/dev/null; then
		echo "# $tool is missing (apt-get install -y systemd)"
		if [ "$CI" = true ]; then echo "not ok 1 - $tool missing"; echo "1..1"; exit 1; fi
		echo "1..0 # SKIP $tool missing"
		exit 0
	fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -m 700 "$tmp/run"
# Documentation=man:... is checked against the pages this build made
mkdir -p "$tmp/man/man1" "$tmp/man/man5"
for p in "$@"; do cp "$p" "$tmp/man/man${p##*.}/"; done
man_check=--man=yes
[ $# -gt 0 ] || man_check=--man=no

verify() { # verify [--user] UNIT_FILE: rc 0 and not a line of output
	XDG_RUNTIME_DIR=$tmp/run MANPATH=$tmp/man systemd-analyze verify \
		$man_check "$@" >"$tmp/out" 2>&1
	local rc=$?
	sed 's/^/#   /' "$tmp/out"
	[ $rc = 0 ] && [ ! -s "$tmp/out" ]
}

mp=/home/alice/.aws
inst=$(systemd-escape --path "$mp")
[ "$inst" = home-alice-.aws ] && [ "$(systemd-escape --path --unescape "$inst")" = "$mp" ]
t $? "systemd-escape --path $mp is $inst, and back"
cp "$user_unit" "$tmp/credfs@.service"
cp "$user_unit" "$tmp/credfs@$inst.service"
verify --user "$tmp/credfs@.service"
t $? "systemd-analyze verify --user accepts credfs@.service"
verify --user "$tmp/credfs@$inst.service"
t $? "... and its instance credfs@$inst.service"
cp "$system_unit" "$tmp/credfs-system.service"
verify "$tmp/credfs-system.service"
t $? "systemd-analyze verify accepts credfs-system.service"

# the check can fail: a misspelt key is only a warning, and is caught
sed 's/^LoadCredential=/LoadCredentail=/' "$system_unit" >"$tmp/credfs-typo.service"
! verify "$tmp/credfs-typo.service" >/dev/null
t $? "a misspelt key is caught (verify's warning fails the check)"

for u in "$tmp/credfs@.service" "$tmp/credfs-system.service"; do
	b=$(basename "$u")
	grep -qx 'Type=notify' "$u" && grep -qx 'NotifyAccess=main' "$u"
	t $? "$b: Type=notify, only the main process notifies"
	grep -qE '^ExecStart=/.*/credfs mount -f (%f|/run/credfs)$' "$u" &&
		grep -qE '^ExecStop=/.*/credfs umount (%f|/run/credfs)$' "$u"
	t $? "$b: ExecStart credfs mount -f, ExecStop credfs umount, same mount point"
done
grep -qx 'LoadCredential=passphrase:/etc/credfs/passphrase' "$tmp/credfs-system.service" &&
	grep -q 'passphrase_file = \$CREDENTIALS_DIRECTORY/passphrase' "$tmp/credfs-system.service"
t $? "credfs-system.service: passphrase from LoadCredential=, read via \$CREDENTIALS_DIRECTORY"
! grep -qE '^(PrivateMounts|ProtectSystem|ProtectHome|PrivateTmp|TemporaryFileSystem)=' \
	"$tmp/credfs-system.service" "$tmp/credfs@.service"
t $? "no option that would hide the mount in a namespace of its own"
echo "1..$n"
exit $fail
