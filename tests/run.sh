#!/bin/sh
# run.sh builddir...: every test against each build (. = plain, san =
# ASan+UBSan). Each suite speaks TAP ("ok ..." / "not ok ..."); we count
# them and end with one line: N passed, N failed.

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
: "${PDS_INTEROP:=$top/../shared/interop}"
: "${PDS_SHARED:=$top/../shared}"
export PDS_INTEROP PDS_SHARED
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export CMOCKA_MESSAGE_OUTPUT=TAP

log=$(mktemp)
trap 'rm -f "$log"' EXIT
pass=0
fail=0

# suite label command...: run one suite, tally its TAP lines.
suite() {
	label=$1
	shift
	out=$(mktemp)
	"$@" >"$out" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $label exited $rc" >>"$out"
		f=1
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $label ran no tests" >>"$out"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$f" -ne 0 ]; then
		printf '%-40s %3d passed, %d FAILED\n' "$label" "$p" "$f"
		sed 's/^/    /' "$out" | grep -v '^    ok ' | tail -n 60
	else
		printf '%-40s %3d passed\n' "$label" "$p"
	fi
	rm -f "$out"
}

manlint() {
	n=0
	for m in man/*.[0-9]; do
		n=$((n + 1))
		if r=$(mandoc -Tlint -Wwarning "$m" 2>&1) && [ -z "$r" ]; then
			echo "ok $n - $m"
		else
			echo "not ok $n - $m"
			echo "$r"
		fi
	done
}

suite "man: mandoc -Tlint" manlint

for b in "$@"; do
	tag=$([ "$b" = . ] && echo plain || echo "$b")
	PDSD_SIGNERD=$top/$b/signerd/signerd
	PDSD_BUILD=$tag
	export PDSD_SIGNERD PDSD_BUILD
	for t in "$b"/obj/tests/unit/test_*; do
		[ -x "$t" ] || continue
		suite "[$tag] unit/$(basename "$t")" "$t"
	done
	for t in tests/config/run.sh tests/regress/*.sh; do
		[ -f "$t" ] || continue
		suite "[$tag] ${t#tests/}" sh "$t" "$b"
	done
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
