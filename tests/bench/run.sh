#!/bin/sh
# run.sh [builddir]: build the data-layer benchmark against the build in
# builddir (default .) and run it once.  About ten seconds; it prints
# numbers and never fails on them.
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
O=${1:-.}
bin=$O/obj/tests/bench/bench_data
make -s -f Makefile -f tests/bench/bench.mk O="$O" "$bin" || exit 1
exec "$bin"
