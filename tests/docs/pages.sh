#!/bin/bash
# credfs(1) and credfs.conf(5): `man -l` renders both without a warning, and
# every command, config key, provider, format and rule matcher that the C
# sources define (tests/docs/names.py reads them from the code) appears in
# the pages: commands in credfs(1), the rest in credfs.conf(5).
#
#   pages.sh SOURCE_ROOT [PAGE...]   (the pages meson built)
root=$1
shift
here=$(dirname "$(realpath "$0")")
n=0 fail=0
t() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}
missing() { # a test that cannot run: fails under CI, skips otherwise
	echo "# $1"
	if [ "$CI" = true ]; then echo "not ok 1 - $1"; echo "1..1"; exit 1; fi
	echo "1..0 # SKIP $1"
	exit 0
}
[ $# -gt 0 ] || missing "the man pages were not built (scdoc missing: apt-get install -y scdoc)"
command -v man >/dev/null || missing "man is missing (apt-get install -y man-db groff-base)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sec1= sec5=
for page in "$@"; do
	name=$(basename "$page")
	# ASCII, no hyphenation at line ends: a name is found whole
	LC_ALL=C MANWIDTH=1000 man -l "$page" 2>"$tmp/err" | col -b >"$tmp/$name.txt"
	st=${PIPESTATUS[0]}
	[ "$st" = 0 ] && [ -s "$tmp/$name.txt" ] && [ ! -s "$tmp/err" ] &&
		grep -q '^NAME' "$tmp/$name.txt"
	t $? "man -l renders $name ($(wc -l <"$tmp/$name.txt") lines$([ -s "$tmp/err" ] && echo ", warnings: $(head -c 300 "$tmp/err")"))"
	case $name in
	*.1) sec1=$tmp/$name.txt ;;
	*.5) sec5=$tmp/$name.txt ;;
	esac
done
[ -n "$sec1" ] && [ -n "$sec5" ]
t $? "both credfs(1) and credfs.conf(5) are built"

python3 "$here/names.py" "$root" >"$tmp/names" || fail=1
for kind in command key provider format matcher; do
	c=$(grep -c "^$kind " "$tmp/names")
	echo "# $kind: $c found in the code"
done
# The extraction itself must find what is there, or this test proves nothing.
[ "$(grep -c '^command ' "$tmp/names")" -ge 12 ] &&
	[ "$(grep -c '^key ' "$tmp/names")" -ge 30 ] &&
	[ "$(grep -c '^provider ' "$tmp/names")" -ge 5 ] &&
	[ "$(grep -c '^format ' "$tmp/names")" -ge 5 ] &&
	[ "$(grep -c '^matcher ' "$tmp/names")" -ge 6 ]
t $? "names.py finds the command table, key tables, providers, formats, matchers"

while read -r kind name; do
	page=$sec5
	[ "$kind" = command ] && page=$sec1
	# a command is documented as "credfs NAME" or as an entry "NAME ..."
	if [ "$kind" = command ]; then
		grep -qE "(^ +|credfs |, )$name( |,|$)" "$page"
	elif [ "$kind" = matcher ]; then
		grep -qF "$name:" "$page"
	else
		grep -qw -- "$name" "$page"
	fi
	t $? "$kind $name is in $(basename "${page%.txt}")"
done <"$tmp/names"
echo "1..$n"
exit $fail
