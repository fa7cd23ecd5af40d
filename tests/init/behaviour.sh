#!/bin/bash
# credfs init around the conversion: where the config goes, never
# overwriting one without --force, the defaults a user relies on
# (~/.aws/config, $AWS_CONFIG_FILE, $CREDFS_CONFIG, $XDG_CONFIG_HOME), exit
# statuses, and what it tells the user to do next.
#
#   behaviour.sh INIT_DRIVER CREDFS CASES_DIR
driver=$(realpath "$1") credfs=$(realpath "$2") cases=$(realpath "$3")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0

t() { # t STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}
run() { # run HOME ARGS... : stdout in $tmp/o, stderr in $tmp/e, status in $rc
	local h=$1
	shift
	env -u CREDFS_CONFIG -u XDG_CONFIG_HOME -u AWS_CONFIG_FILE \
		-u AWS_SHARED_CREDENTIALS_FILE HOME="$h" "$driver" "$@" \
		>"$tmp/o" 2>"$tmp/e"
	rc=$?
}

# A user's home with ~/.aws as the AWS CLI left it.
home=$tmp/home
mkdir -p "$home/.aws"
cp "$cases/role-chain/config" "$cases/role-chain/credentials" "$home/.aws/"

run "$home"
t $rc "no arguments: reads ~/.aws/config, exit 0"
cfg=$home/.config/credfs/config
[ -f "$cfg" ]
t $? "the default output is ~/.config/credfs/config"
[ "$(stat -c %a "$cfg")" = 600 ] && [ "$(stat -c %a "$home/.config/credfs")" = 700 ]
t $? "written 0600 in a 0700 directory"
"$credfs" -c "$cfg" check >/dev/null 2>&1
t $? "credfs check accepts it"
grep -qx '  credfs store import-aws ~/.aws/credentials .*' "$tmp/o" &&
	grep -qx '  credfs mount ~/.aws .*' "$tmp/o"
t $? "ends with the two commands left, for the default config: $(tr '\n' '|' <"$tmp/o")"

cp "$cfg" "$tmp/before"
echo "# mine" >>"$cfg"
run "$home"
[ $rc = 1 ] && grep -q "exists; not overwritten" "$tmp/e" && grep -q "^# mine" "$cfg"
t $? "an existing config is kept without --force (exit 1, named)"
run "$home" --force
[ $rc = 0 ] && cmp -s "$cfg" "$tmp/before"
t $? "--force replaces it"

rm -rf "$home/.config"
run_env() { # like run, with one extra VAR=VALUE
	local h=$1 kv=$2
	shift 2
	env -u CREDFS_CONFIG -u XDG_CONFIG_HOME -u AWS_CONFIG_FILE \
		-u AWS_SHARED_CREDENTIALS_FILE HOME="$h" "$kv" "$driver" "$@" \
		>"$tmp/o" 2>"$tmp/e"
	rc=$?
}
run_env "$home" CREDFS_CONFIG="$tmp/cc/config"
[ $rc = 0 ] && [ -f "$tmp/cc/config" ] && [ ! -e "$home/.config" ]
t $? "\$CREDFS_CONFIG is the default output"
grep -q "  credfs mount ~/.aws" "$tmp/o" && ! grep -q -- " -c " "$tmp/o"
t $? "the default output needs no -c in the commands shown"
run_env "$home" XDG_CONFIG_HOME="$tmp/xdg"
[ $rc = 0 ] && [ -f "$tmp/xdg/credfs/config" ]
t $? "else \$XDG_CONFIG_HOME/credfs/config"

mkdir -p "$tmp/elsewhere"
cp "$cases/sso/config" "$tmp/elsewhere/aws-config"
run_env "$home" AWS_CONFIG_FILE="$tmp/elsewhere/aws-config" -o "$tmp/sso.conf"
[ $rc = 0 ] && grep -q "provider *= aws-sso" "$tmp/sso.conf"
t $? "\$AWS_CONFIG_FILE is the default input"
grep -q "credfs -c $tmp/sso.conf mount $tmp/elsewhere" "$tmp/o" &&
	grep -q "aws sso login" "$tmp/o"
t $? "-o elsewhere: the commands carry -c; SSO sign-in is explained"

mkdir -p "$tmp/mfa" && cp "$cases/mfa/config" "$cases/mfa/credentials" "$tmp/mfa/"
run "$home" --from "$tmp/mfa/config" --credentials "$tmp/mfa/credentials" -o -
[ $rc = 0 ] && grep -q '^\[file credentials\]' "$tmp/o" &&
	grep -q "credfs init: wrote standard output" "$tmp/e" &&
	grep -q "login PROFILE" "$tmp/e"
t $? "-o - writes the config to stdout, the rest to stderr (MFA login named)"

run "$home" --from "$tmp/nonexistent" -o "$tmp/x"
[ $rc = 1 ] && grep -q "$tmp/nonexistent: No such file" "$tmp/e" && [ ! -e "$tmp/x" ]
t $? "a missing AWS config: exit 1, named, nothing written"
printf '[profile a]\nno equals sign here\n' >"$tmp/bad"
run "$home" --from "$tmp/bad" -o "$tmp/x"
[ $rc = 2 ] && grep -q "$tmp/bad:2: not valid INI" "$tmp/e"
t $? "an AWS config that is not INI: exit 2 with its line"
printf '[profile a]\nregion = us-east-1\n' >"$tmp/none"
run "$home" --from "$tmp/none" --credentials /nonexistent -o "$tmp/x"
[ $rc = 1 ] && grep -q "no profile to convert" "$tmp/e" && [ ! -e "$tmp/x" ]
t $? "nothing to convert: exit 1, nothing written"
run "$home" --bogus
[ $rc = 2 ] && grep -q "^usage: credfs init" "$tmp/e"
t $? "an unknown option: usage, exit 2"

# A credential_process longer than inih's 200-byte line.
long=$(printf 'x%.0s' $(seq 1 300))
printf '[profile long]\ncredential_process = /bin/%s\n[profile ok]\ncredential_process = /bin/true\n' \
	"$long" >"$tmp/long"
run "$home" --from "$tmp/long" --credentials /nonexistent -o "$tmp/long.conf"
[ $rc = 0 ] && grep -q "profile long left out: the value of 'command'" "$tmp/e" &&
	"$credfs" -c "$tmp/long.conf" check >/dev/null 2>&1
t $? "a command longer than a credfs config line is named, the rest converted"

# The copy of the AWS config without what makes the CLI fetch for itself.
mkdir -p "$tmp/copy"
cp "$cases/unsupported/config" "$cases/unsupported/credentials" "$tmp/copy/"
run "$home" --from "$tmp/copy/config" --credentials "$tmp/copy/credentials" -o "$tmp/copy.conf"
c=$tmp/copy/config.credfs
[ $rc = 0 ] && [ -f "$c" ] && [ "$(stat -c %a "$c")" = 600 ] &&
	grep -q "^  mv $tmp/copy/config.credfs $tmp/copy/config " "$tmp/o"
t $? "init writes config.credfs (0600) beside the AWS config and says to move it"
# self-chain is served: its role_arn/source_profile go; left-out profiles
# (default, ecs, dangling) keep theirs; everything else is verbatim
diff <(grep -v -e '^role_arn = arn:aws:iam::123456789012:role/Self$' \
	-e '^source_profile = self-chain$' "$tmp/copy/config") "$c" >"$tmp/d"
t $? "only the served profiles' role keys are taken out, the rest verbatim$(sed 's/^/ /' "$tmp/d" | tr '\n' ' ')"
echo changed >>"$c"
run "$home" --from "$tmp/copy/config" --credentials "$tmp/copy/credentials" -o "$tmp/copy2.conf"
[ $rc = 0 ] && grep -q "config.credfs: exists; not overwritten" "$tmp/e" && tail -1 "$c" | grep -q changed
t $? "an existing config.credfs is not overwritten without --force"

echo "1..$n"
exit $fail
