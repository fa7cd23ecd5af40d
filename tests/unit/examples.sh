#!/bin/bash
# Every shipped example configuration passes `credfs check`.
credfs=$1 dir=$2
n=0
fail=0
for f in "$dir"/*.conf; do
	n=$((n + 1))
	if out=$("$credfs" -c "$f" check 2>&1); then
		echo "ok $n - $(basename "$f"): $out"
	else
		echo "not ok $n - $(basename "$f")"
		echo "$out" | sed 's/^/#   /'
		fail=1
	fi
done
echo "1..$n"
exit $fail
