#!/bin/bash
# credfs init on each real-world ~/.aws/config under cases/: the config it
# writes is accepted by `credfs check`, is the expected one (providers and
# keys), every key it did not convert is named on stderr as expected, the
# two commands left are printed, and no key value of the credentials file
# (or of an aws_* key in the config) appears anywhere in what it writes.
#
#   convert.sh INIT_DRIVER CREDFS CASES_DIR
# UPDATE=1 rewrites the expected files (review the diff before committing).
driver=$(realpath "$1") credfs=$(realpath "$2") cases=$(realpath "$3")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0

t() { # t OK-OR-NOT DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}

for dir in "$cases"/*/; do
	c=$(basename "$dir")
	out=$tmp/$c.conf
	creds=credentials
	[ -e "$dir/credentials" ] || creds=/nonexistent/credentials
	# a copy: init writes config.credfs beside the AWS config
	mkdir -p "$tmp/$c" && cp "$dir/config" "$tmp/$c/"
	[ -e "$dir/credentials" ] && cp "$dir/credentials" "$tmp/$c/"
	(cd "$tmp/$c" && HOME=$tmp/home "$driver" --from config \
		--credentials "$creds" -o "$out") >"$tmp/$c.out" 2>"$tmp/$c.err"
	t $? "$c: credfs init exits 0"
	if [ -n "$UPDATE" ]; then
		cp "$out" "$dir/expected.conf"
		cp "$tmp/$c.err" "$dir/expected.err"
	fi
	check=$("$credfs" -c "$out" check 2>&1)
	t $? "$c: credfs check accepts it ($check)"
	diff -u "$dir/expected.conf" "$out" | sed 's/^/#   /'
	t "${PIPESTATUS[0]}" "$c: the expected providers and keys"
	diff -u "$dir/expected.err" "$tmp/$c.err" | sed 's/^/#   /'
	t "${PIPESTATUS[0]}" "$c: every key not converted is named, as expected"
	grep -q "^  credfs -c .* mount \. " "$tmp/$c.out"
	t $? "$c: says to mount"
	if [ -e "$dir/credentials" ]; then
		grep -q "^  credfs -c .* store import-aws credentials " "$tmp/$c.out"
		t $? "$c: says to import the credentials file"
	fi
	# key values: every value of an aws_* key in either file
	leaked=0
	for f in "$dir/config" "$dir/credentials"; do
		[ -e "$f" ] || continue
		while IFS= read -r v; do
			[ -n "$v" ] || continue
			if grep -qF -- "$v" "$out" "$tmp/$c.out" "$tmp/$c.err"; then
				echo "#   key value ${v:0:4}... appears in the output"
				leaked=1
			fi
		done < <(sed -n 's/^[[:space:]]*aws_[a-z_]*[[:space:]]*=[[:space:]]*//p' "$f")
	done
	t $leaked "$c: no key value in the config, stdout or stderr"
done
echo "1..$n"
exit $fail
