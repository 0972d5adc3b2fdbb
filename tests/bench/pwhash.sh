#!/bin/sh
# pwhash.sh [builddir] [rounds]: createAccount and createSession p50
# against pdsd next to a bare crypto_pwhash_str at pdsd's limits
# (m=12 MiB, t=3) on this machine, and the _health latency while 8
# logins hash (the hash runs off the event loop).  Starts its own pdsd
# on a free loopback port with rate limits off.  Prints numbers; fails
# only when something does not run.
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
O=${1:-.}
case $O in /*) ;; *) O=$top/$O ;; esac
ROUNDS=${2:-20}
NODE=$top/tests/node/node_modules/.bin/node
bin=$O/obj/tests/bench/bench_pwhash
make -s -f Makefile -f tests/bench/bench.mk O="$O" "$bin" "$O/pdsd/pdsd" \
    "$O/signerd/signerd" || exit 1

T=$(mktemp -d /tmp/pdsd-pwhash.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$T"' EXIT
PORT=$("$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
URL=http://127.0.0.1:$PORT
cat >"$T/pdsd.conf" <<CONF
listen on 127.0.0.1 port $PORT
data directory "$T/data"
key directory "$T/keys"
control socket "$T/pdsd.sock"
rate limits off
CONF
"$O/pdsd/pdsd" -d -f "$T/pdsd.conf" >"$T/log" 2>&1 &
PID=$!
i=0
until curl -fsS "$URL/xrpc/_health" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$PID" 2>/dev/null; then
		echo "pwhash.sh: pdsd did not start" >&2
		tail -5 "$T/log" >&2
		exit 1
	fi
	sleep 0.1
done

echo "== bare libsodium, one thread ($(nproc) CPUs)"
"$bin" "$ROUNDS" || exit 1
echo "== pdsd $URL, sequential requests"
"$NODE" "$top/tests/bench/pwhash.mjs" "$URL" "$ROUNDS" || exit 1
