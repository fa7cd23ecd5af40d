#!/bin/bash
# completion/credfs, sourced in bash: commands (every one the code defines),
# subcommands, and the profiles of the config in use.
#
#   completion.sh SOURCE_ROOT
root=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
t() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}
# offers WORD...: what <TAB> offers after the words (the last is the one
# being completed), sorted, on one line
offers() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_credfs
	printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//'
}
expect() { # expect WANT DESCRIPTION WORD...
	local want=$1 what=$2
	shift 2
	local got
	got=$(offers "$@")
	[ "$got" = "$want" ]
	t $? "$what: '$*<TAB>' offers '$got'$([ "$got" = "$want" ] || echo " (want '$want')")"
}

unset CREDFS_CONFIG
export HOME=$tmp XDG_CONFIG_HOME=$tmp/xdg
source "$root/completion/credfs"
complete -p credfs >/dev/null
t $? "sourcing it registers a completion for credfs"

expect "refresh revoke" "commands by prefix" credfs re
expect "lock login" "commands by prefix" credfs lo

mkdir -p "$XDG_CONFIG_HOME/credfs"
cat >"$XDG_CONFIG_HOME/credfs/config" <<'CFG'
[credfs]
key = passphrase

[profile base]
provider = aws-static
secret = aws-base

  [ profile   prod-admin ]   # indented, spaced
provider = aws-assume-role
source = base
role_arn = arn:aws:iam::123456789012:role/Admin

[profile ci.deploy@eu]
provider = exec
command = /bin/true

[file credentials]
format = aws-credentials
profiles = base prod-admin
CFG
expect "base ci.deploy@eu prod-admin" "profiles of \$XDG_CONFIG_HOME/credfs/config" credfs refresh ""
expect "prod-admin" "a profile by prefix" credfs refresh pr
expect "--all --deactivate-source base ci.deploy@eu prod-admin" "revoke" credfs revoke ""

printf '[profile other]\nprovider = exec\ncommand = /bin/true\n' >"$tmp/other.conf"
CREDFS_CONFIG=$tmp/other.conf expect "other" "\$CREDFS_CONFIG wins" credfs refresh ""
expect "other" "-c on the line wins" credfs -c "$tmp/other.conf" refresh ""
expect "" "no config: nothing to offer" credfs -c "$tmp/none" refresh ""

expect "base ci.deploy@eu prod-admin" "exec: a profile" credfs exec ""
expect "--" "exec PROFILE: then --" credfs exec base ""
expect "add import-aws import-gcp list reanchor rm" "store" credfs store ""
expect "report" "audit subcommands" credfs audit re
expect "--console base ci.deploy@eu prod-admin" "login" credfs login ""
expect "--credentials --force --from -o" "init options" credfs init -
expect "--json" "status" credfs status -

# every command the code defines, and init, is offered
all=$(offers credfs "")
missing=""
for c in $(python3 "$here/names.py" "$root" | sed -n 's/^command //p') init; do
	case " $all " in *" $c "*) ;; *) missing="$missing $c" ;; esac
done
[ -z "$missing" ] && [ "$(python3 "$here/names.py" "$root" | grep -c '^command ')" -ge 12 ]
t $? "every command in the code is offered${missing:+ (missing:$missing)}"

echo "1..$n"
exit $fail
