#!/bin/sh
# appview.sh [builddir]: the local app.bsky view at scale, a part of
# `make bench` (run.sh), also runnable alone.
#
#   1. bench_appview generates the community in a fresh data directory
#      (1,000 accounts, 1,000,000 records, in-process through
#      repo_store.c and appindex.c) and times the index's share of
#      single writes on it
#   2. pdsd started on that directory (no PLC directory, rate limits
#      off, loopback); appview.mjs measures the reads over HTTP and
#      createRecord with and without the index; pdsd stopped
#
# Environment: BENCH_AV_ACCOUNTS [1000], BENCH_AV_RECORDS [1000000],
# BENCH_AV_N (requests per method) [400], BENCH_AV_KEEP=1 keeps the data
# directory, BENCH_AV_DATA=DIR uses (and keeps) an existing one made by
# bench_appview instead of generating.  The generation is bounded at 40
# minutes (about 4 of CPU on an idle machine), the HTTP part at 10.
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
O=${1:-.}
case $O in /*) ;; *) O=$top/$O ;; esac
NODE=${NODE:-$top/tests/node/node_modules/.bin/node}
[ -x "$NODE" ] || NODE=node
B=$O/obj/tests/bench
W=$(mktemp -d /tmp/pdsd-bench-av.XXXXXX) || exit 1
PID=

cleanup() {
	if [ -n "$PID" ]; then
		kill "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	if [ -n "${BENCH_AV_KEEP:-}" ]; then
		echo "appview bench: kept $W" >&2
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! timeout 600 make -s -f Makefile -f tests/bench/bench.mk O="$O" all \
    "$B/bench_appview"; then
	echo "appview bench: build failed" >&2
	exit 1
fi

DATA=${BENCH_AV_DATA:-$W/data}
if [ -z "${BENCH_AV_DATA:-}" ]; then
	echo "generating: $(uptime)"
	if ! timeout 2400 "$B/bench_appview" -a "${BENCH_AV_ACCOUNTS:-1000}" \
	    -r "${BENCH_AV_RECORDS:-1000000}" "$DATA"; then
		echo "appview bench: bench_appview failed" >&2
		exit 1
	fi
fi

port=$("$NODE" -e 'const s = require("net").createServer()
	s.listen(0, "127.0.0.1", () => {
		console.log(s.address().port)
		s.close()
	})')
cat >"$W/pdsd.conf" <<CONF
listen on 127.0.0.1 port $port
data directory "$DATA"
key directory "$W/keys"
control socket "$W/pdsd.sock"
rate limits off
CONF
"$O/pdsd/pdsd" -d -f "$W/pdsd.conf" >"$W/pdsd.log" 2>&1 &
PID=$!
i=0
until curl -fsS -o /dev/null "http://127.0.0.1:$port/xrpc/_health" \
    2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 "$PID" 2>/dev/null; then
		tail -5 "$W/pdsd.log" >&2
		echo "appview bench: pdsd did not start" >&2
		exit 1
	fi
	sleep 0.1
done
pids=$(echo "$PID" $(pgrep -P "$PID") | tr ' ' ',')
echo "pdsd on 127.0.0.1:$port (processes $pids); $(uptime)"
timeout 600 "$NODE" "$top/tests/bench/appview.mjs" --url \
    "http://127.0.0.1:$port" --meta "$DATA/bench-appview.txt" \
    --n "${BENCH_AV_N:-400}" --pids "$pids" --out "$W/appview.json"
rc=$?
grep -iE 'fatal|warn' "$W/pdsd.log" | sort | uniq -c | sort -rn | head -5 |
    sed 's/^/pdsd log: /'
echo "load at end: $(uptime)"
exit $rc
