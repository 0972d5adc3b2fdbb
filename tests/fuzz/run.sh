#!/bin/sh
# run.sh builddir seconds: run every libFuzzer target for a bounded time,
# starting from its seed corpus in tests/fuzz/corpus/<name>/.  Crashes
# are kept in tests/fuzz/crashes/; any crash or leak fails the run.
B=${1:-fuzzbuild}
secs=${2:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
mkdir -p tests/fuzz/crashes
fail=0
for f in "$B"/obj/tests/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	work=$(mktemp -d)
	seeds=tests/fuzz/corpus/$name
	[ -d "$seeds" ] || seeds=
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=tests/fuzz/crashes/"$name"- \
	    -print_final_stats=0 "$work" $seeds >"$work.log" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs' "$work.log" | tail -1)
		echo "fuzz $name: ok ($runs in ${secs}s)"
	else
		echo "fuzz $name: FAILED"
		tail -n 30 "$work.log"
		fail=1
	fi
	rm -rf "$work" "$work.log"
done
exit $fail
