# shellcheck shell=bash
# tests/host.sh: the three host settings, outside packages, that some tests
# need, what each one is for, and the command that adds it.  Sourced by
# ./run, tests/run-all and tests/mount/lib.sh.
#
#   fuse_mode    /dev/fuse mode 0666: a user other than root opens it
#   allow_other  user_allow_other in /etc/fuse.conf: a user other than root
#                mounts with allow_other
#   test_user    the unprivileged user credfs-test ($CREDFS_TEST_USER):
#                the tests that run or mount as another user
#
# Nothing here changes the host unless CI=true (a throw-away machine):
# elsewhere host_setup says what is missing and how to add it.
#
#   host_has NAME      0 when the setting is in place
#   host_what NAME     what is missing, one line
#   host_fix NAME      the command that adds it, one line
#   host_missing NAME  "WHAT: add it with: FIX"
#   host_setup PREFIX  every setting: under CI=true adds what is missing,
#                      else prints one line per missing setting; returns
#                      the number still missing

HOST_TEST_USER=${CREDFS_TEST_USER:-credfs-test}
HOST_SETTINGS=(fuse_mode allow_other test_user)

_host_sudo() {
	[ "$(id -u)" = 0 ] || printf 'sudo '
}

host_has() {
	case "$1" in
	fuse_mode)
		# A missing /dev/fuse is not a mode to fix (a kernel module or
		# a container's --device): the tests say so themselves.
		[ ! -e /dev/fuse ] || [ "$(stat -c %a /dev/fuse)" = 666 ]
		;;
	allow_other)
		grep -qE '^[[:space:]]*user_allow_other' /etc/fuse.conf 2>/dev/null
		;;
	test_user)
		id "$HOST_TEST_USER" >/dev/null 2>&1
		;;
	*) return 2 ;;
	esac
}

host_what() {
	case "$1" in
	fuse_mode)
		echo "/dev/fuse is mode $(stat -c %a /dev/fuse 2>/dev/null), not 666: only root can open it"
		;;
	allow_other)
		echo "/etc/fuse.conf has no user_allow_other line: only root can mount with allow_other"
		;;
	test_user)
		echo "the test user $HOST_TEST_USER does not exist"
		;;
	esac
}

host_fix() {
	case "$1" in
	fuse_mode) echo "$(_host_sudo)chmod 0666 /dev/fuse" ;;
	allow_other) echo "echo user_allow_other | $(_host_sudo)tee -a /etc/fuse.conf" ;;
	test_user) echo "$(_host_sudo)useradd --create-home --shell /bin/bash $HOST_TEST_USER" ;;
	esac
}

host_missing() {
	echo "$(host_what "$1"): add it with: $(host_fix "$1")"
}

# Adds one setting; only ever called under CI=true.
_host_apply() {
	local sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	case "$1" in
	fuse_mode) $sudo chmod 0666 /dev/fuse ;;
	allow_other) echo user_allow_other | $sudo tee -a /etc/fuse.conf >/dev/null ;;
	test_user) $sudo useradd --create-home --shell /bin/bash "$HOST_TEST_USER" ;;
	esac
}

host_setup() { # PREFIX
	local prefix=$1 s n=0
	for s in "${HOST_SETTINGS[@]}"; do
		host_has "$s" && continue
		if [ "${CI:-}" = true ]; then
			_host_apply "$s" ||
				echo "$prefix: CI=true: could not add: $(host_fix "$s")" >&2
			host_has "$s" && continue
		fi
		echo "$prefix: missing: $(host_missing "$s")" >&2
		n=$((n + 1))
	done
	if [ "$n" -gt 0 ] && [ "${CI:-}" != true ]; then
		echo "$prefix: the tests that need these fail until they are added" \
			"(under CI=true they are added here)" >&2
	fi
	return "$n"
}
