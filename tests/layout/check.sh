#!/bin/bash
# tests/layout/check.sh SRCDIR: the layer rules, checked from the tree (TAP).
#
#  1. every layer directory holds C sources (nothing checked in an empty tree)
#  2. #include "DIR/..." only goes down the layers
#       core < crypto < providers < access < engine < fs < daemon < cli
#     (a file may include its own layer and those below; bench/, tests/
#     and fuzz/ may include anything and are not checked)
#  3. no .c or .h file in a layer directory is over 800 lines
#  4. the shared helpers of core/util.c have no second copy: none of the
#     names below is defined as a static function in a layer directory
set -uo pipefail
src=${1:?usage: check.sh SRCDIR}
cd "$src" || exit 1

LAYERS=(core crypto providers access engine fs daemon cli)
MAX_LINES=800
# Clocks, hex, RFC 3339 times, durations, mkdir -p: core/util.h has them.
HELPERS=(now_ms mono_ms ms_now now_ns mono_ns ns_now to_hex sha256_hex hexval
	hex_encode format_time parse_time parse_rfc3339 parse_duration mkdir_p)

n=0
failed=0
point() { # OK(0/1) DESCRIPTION [DETAIL LINES on stdin when not ok]
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		sed 's/^/#   /'
		failed=$((failed + 1))
	fi
}

rank() { # DIR -> index in LAYERS, or nothing
	local i
	for i in "${!LAYERS[@]}"; do
		[ "${LAYERS[$i]}" = "$1" ] && echo "$i" && return
	done
}

sources() { # the .c and .h files of the layer directories
	find "${LAYERS[@]}" -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort
}

# 1. the layers exist
empty=$(for d in "${LAYERS[@]}"; do
	[ -n "$(find "$d" -name '*.c' 2>/dev/null | head -1)" ] ||
		echo "$d/ has no .c file"
done)
[ -z "$empty" ]
point $((! $?)) "every layer directory (${LAYERS[*]}) holds C sources" <<<"$empty"

# 2. includes go down.  "../x/y.h" and "y.h" resolve from the including
# file's directory.
order=$(
	IFS=' '
	echo "${LAYERS[*]}"
)
mapfile -t FILES < <(sources)
up=$(grep -nHE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]+"' "${FILES[@]}" |
	awk -v order="$order" '
	function norm(p,   n, a, i, out, k, o) {
		n = split(p, a, "/"); k = 0
		for (i = 1; i <= n; i++) {
			if (a[i] == "" || a[i] == ".") continue
			if (a[i] == "..") { if (k > 0) k--; continue }
			o[++k] = a[i]
		}
		out = ""
		for (i = 1; i <= k; i++) out = out (i > 1 ? "/" : "") o[i]
		return out
	}
	BEGIN { n = split(order, L, " "); for (i = 1; i <= n; i++) R[L[i]] = i }
	{
		f = $0; sub(/:.*/, "", f)
		rest = substr($0, length(f) + 2)
		num = rest; sub(/:.*/, "", num)
		inc = rest; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
		if (inc ~ /^\.\.?\//) {
			dir = f; sub(/\/[^\/]*$/, "", dir)
			inc = norm(dir "/" inc)
		}
		if (inc !~ /\//) next
		top = inc; sub(/\/.*/, "", top)
		from = f; sub(/\/.*/, "", from)
		if ((top in R) && R[top] > R[from])
			printf "%s:%s: includes \"%s\" (%s is above %s)\n", f, num, inc, top, from
	}')
[ -z "$up" ]
point $((! $?)) "#include goes only down: ${order// / < }" <<<"$up"

# 3. file size
big=$(wc -l "${FILES[@]}" | awk -v max="$MAX_LINES" \
	'$2 != "total" && $1 > max { print $2 ": " $1 " lines" }')
[ -z "$big" ]
point $((! $?)) "no .c/.h file in a layer directory over $MAX_LINES lines" <<<"$big"

# 4. one copy of each helper.  A static definition is `static ... NAME(` on
# one line or `static ...` then `NAME(` at the start of the next line
# (clang-format may break after the return type); declarations end in ';'.
names=$(
	IFS='|'
	echo "${HELPERS[*]}"
)
copies=$(grep -nHE -B1 "^(static[^;=(]*[^[:alnum:]_])?($names)[[:space:]]*\\(" \
	"${FILES[@]}" | grep -v -e '^--$' -e '^core/util\.c[-:]' |
	awk '
	{
		# grep -nH -B1: "FILE:N:line" for a match, "FILE-N-line" before it
		if (!match($0, /[-:][0-9]+[-:]/)) next
		f = substr($0, 1, RSTART - 1)
		num = substr($0, RSTART + 1, RLENGTH - 2)
		sep = substr($0, RSTART + RLENGTH - 1, 1)
		text = substr($0, RSTART + RLENGTH)
		if (sep == "-") { prev = text; pf = f; next }
		if (text !~ /;[[:space:]]*$/ &&
		    (text ~ /^static/ || (pf == f && prev ~ /^static[^;]*$/))) {
			name = text
			sub(/[[:space:]]*\(.*/, "", name)
			sub(/.*[^[:alnum:]_]/, "", name)
			print f ":" num ": static " name "() (core/util.h has it)"
		}
		prev = text; pf = f
	}')
[ -z "$copies" ]
point $((! $?)) "no static copy of a core/util.c helper (${HELPERS[*]})" <<<"$copies"

echo "1..$n"
[ "$failed" = 0 ]
