#!/bin/bash
# fuzz/run.sh TARGET SEEDS [SECONDS]: runs a libFuzzer target for SECONDS
# (default $CREDFS_FUZZ_SECONDS, else 15) from the committed seeds.  New
# inputs go to a temporary corpus, never into the source tree; a crash,
# leak, timeout or sanitizer report fails the run and leaves the input in
# $CREDFS_FUZZ_ARTIFACTS (default: fuzz-artifacts/ in the current
# directory, the build directory under meson test) for fuzz/corpus/.
# The last lines of the log give the number of runs and the coverage.
set -uo pipefail
target=$1 seeds=$2
secs=${3:-${CREDFS_FUZZ_SECONDS:-15}}
name=$(basename "$target")
art=${CREDFS_FUZZ_ARTIFACTS:-$PWD/fuzz-artifacts}/$name
tmp=$(mktemp -d "/tmp/credfs-$name.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$art" || exit 1
# -timeout: one input taking 60 s of wall time is a hang (generous: the
# targets may run at a low CPU priority beside other work, and one input
# takes well under a second of CPU); -rss_limit_mb: a runaway
# allocation is a failure, not the machine's problem.
"$target" -max_total_time="$secs" -timeout=60 -rss_limit_mb=1024 \
	-max_len=16384 -print_final_stats=1 -artifact_prefix="$art/" \
	"$tmp" "$seeds" >"$tmp/log" 2>&1
rc=$?
if [ "$rc" != 0 ]; then
	tail -n 60 "$tmp/log"
	echo "$name: FAILED (exit $rc); the input is in $art/" >&2
	exit 1
fi
grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$tmp/log"
grep -E '^#[0-9]+.*(cov|ft):' "$tmp/log" | tail -n 1
echo "$name: clean for $secs s"
