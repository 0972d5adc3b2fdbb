#!/bin/sh
# run.sh builddir...: every test against each build (. = plain, san =
# ASan+UBSan). Each suite speaks TAP ("ok ..." / "not ok ..."); we count
# them and end with one line: N passed, N failed.
#
# Suites run TEST_JOBS at a time (default 2: most of a regress suite is
# waiting on its daemon or on Node, and each has its own directory and
# loopback port).  A suite's line is printed when it ends; the failures'
# TAP follows once all have ended.  TEST_JOBS=1 runs them one by one.

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
: "${PDS_INTEROP:=$top/../shared/interop}"
: "${PDS_SHARED:=$top/../shared}"
: "${TEST_JOBS:=2}"
export PDS_INTEROP PDS_SHARED
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export CMOCKA_MESSAGE_OUTPUT=TAP

R=$(mktemp -d /tmp/pdsd-tests.XXXXXX) || exit 1
trap 'rm -rf "$R"' EXIT
n=0

# add build label command...: queue one suite.
add() {
	n=$((n + 1))
	printf '%s\n' "$@" >"$R/$n.cmd"
}

add . "man: mandoc -Tlint" sh tests/manlint.sh
for b in "$@"; do
	tag=$([ "$b" = . ] && echo plain || echo "$b")
	for t in "$b"/obj/tests/unit/test_*; do
		[ -x "$t" ] || continue
		add "$b" "[$tag] unit/$(basename "$t")" "$t"
	done
	for t in tests/config/run.sh tests/regress/*.sh; do
		[ -f "$t" ] || continue
		add "$b" "[$tag] ${t#tests/}" sh "$t" "$b"
	done
done

# The slowest suites first, so that the two lanes end together.
order() {
	i=1
	while [ $i -le $n ]; do
		w=0
		case $(sed -n 2p "$R/$i.cmd") in
		*appview*|*differential*|*crash*|*firehose*|*getrepo_slow*|\
		*proxy*|*timeline*)
			w=1 ;;
		esac
		echo "$w $i"
		i=$((i + 1))
	done | sort -k1,1nr -k2,2n | cut -d' ' -f2
}

export R
order | xargs -P "$TEST_JOBS" -n 1 sh tests/suite.sh

pass=0
fail=0
i=1
while [ $i -le $n ]; do
	if [ -f "$R/$i.res" ]; then
		read -r p f s <"$R/$i.res"
	else
		p=0 f=1
		echo "not ok - did not finish" >>"$R/$i.out"
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$f" -ne 0 ]; then
		echo
		echo "$(sed -n 2p "$R/$i.cmd"): $f FAILED"
		sed 's/^/    /' "$R/$i.out" | grep -v '^    ok ' | tail -n 60
	fi
	i=$((i + 1))
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
