#!/bin/sh
# getRepo backpressure: a client that reads a large repository export
# slowly must not make the frontend buffer the repository; a fast one
# still gets all of it at full speed.  The repository is built with
# applyWrites (GR_RECORDS records of GR_SIZE bytes each; defaults give
# about 80 MB); the frontend's VmRSS is sampled from /proc while a
# rate-limited curl reads.  Without the drain callback in the HTTP layer
# the frontend reads the whole export into its output buffer at once.
. "$(dirname "$0")/lib.subr"

NREC=${GR_RECORDS:-20000}
SIZE=${GR_SIZE:-4000}
PER=200
RATE=${GR_RATE:-1M}
SLOW_SECS=${GR_SLOW_SECS:-8}
BOUND_KB=${GR_BOUND_KB:-65536}		# the issue's bound: 64 MB
GROW_KB=${GR_GROW_KB:-16384}		# growth while the slow client reads

# AddressSanitizer holds freed memory back (256 MB by default) to catch
# use after free: a gzipped export, which streams through zlib as fast
# as it compresses, would measure that quarantine, not the frontend.
case $B in
*/san)
	ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=8"
	export ASAN_OPTIONS
	;;
esac

write_conf
echo 'rate limits off' >>"$T/pdsd.conf"
must_start_pdsd
X=$URL/xrpc
J='Content-Type: application/json'
account big.test || notok "createAccount" "$st $(cat "$T/body")"
A="Authorization: Bearer $tok"

fe=
for c in $(children_of "$PID"); do
	grep -q frontend "/proc/$c/cmdline" 2>/dev/null && fe=$c
done
[ -n "$fe" ] && ok "found the frontend ($fe)" || notok "no frontend"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$fe/status"; }
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$fe/status"; }

# Distinct records (no two blocks the same), PER to a commit.
i=0 bad=0
while [ $i -lt "$NREC" ]; do
	awk -v did="$did" -v base=$i -v per=$PER -v size=$SIZE 'BEGIN {
		pad = sprintf("%*s", size, ""); gsub(/ /, "x", pad)
		printf "{\"repo\":\"%s\",\"validate\":false,\"writes\":[", did
		for (j = 0; j < per; j++)
			printf "%s{\"$type\":\"com.atproto.repo.applyWrites#create\"," \
			    "\"collection\":\"com.example.big\",\"rkey\":\"r%07d\"," \
			    "\"value\":{\"$type\":\"com.example.big\",\"n\":%d,\"pad\":\"%s\"}}",
			    j ? "," : "", base + j, base + j, pad
		printf "]}"
	}' >"$T/batch.json"
	code=$(curl -sS -o "$T/body" -w '%{http_code}' -H "$A" -H "$J" \
	    --data-binary @"$T/batch.json" "$X/com.atproto.repo.applyWrites")
	[ "$code" = 200 ] || { bad=1; echo "# batch $i: $code $(head -c 300 "$T/body")"; break; }
	i=$((i + PER))
done
[ $bad = 0 ] && ok "$NREC records of $SIZE bytes written" ||
    notok "applyWrites batches"

call "$X/com.atproto.repo.describeRepo?repo=$did"
base_rss=$(rss)
base_hwm=$(hwm)
echo "# frontend before the exports: VmRSS ${base_rss} kB, VmHWM ${base_hwm} kB"
# AddressSanitizer's shadow memory alone is over the plain bound.
case $B in */san) BOUND_KB=$((base_rss + GROW_KB)) ;; esac

# The slow reader: rate-limited, for a bounded time, while we sample.
curl -sS --limit-rate "$RATE" -o "$T/slow.car" \
    "$X/com.atproto.sync.getRepo?did=$did" 2>/dev/null &
slow=$!
max=0 n=0
while [ $n -lt $((SLOW_SECS * 5)) ]; do
	r=$(rss)
	[ "$r" -gt "$max" ] && max=$r
	sleep 0.2
	n=$((n + 1))
done
got=$(stat -c %s "$T/slow.car" 2>/dev/null || echo 0)
kill "$slow" 2>/dev/null
wait "$slow" 2>/dev/null
echo "# slow reader: $got bytes in ${SLOW_SECS}s; frontend VmRSS peak ${max} kB"
[ "$got" -gt 0 ] && ok "the slow reader got data" || notok "slow reader got nothing"
[ $((max - base_rss)) -le "$GROW_KB" ] &&
    ok "frontend grew $((max - base_rss)) kB with a slow reader (bound $GROW_KB)" ||
    notok "frontend grew $((max - base_rss)) kB with a slow reader" \
    "bound $GROW_KB kB"
[ "$max" -le "$BOUND_KB" ] &&
    ok "frontend VmRSS ${max} kB under $BOUND_KB kB" ||
    notok "frontend VmRSS ${max} kB over $BOUND_KB kB"

# A fast reader: everything, at full speed, a CAR that reads back whole.
t0=$(date +%s.%N)
code=$(curl -sS -o "$T/fast.car" -w '%{http_code}' \
    "$X/com.atproto.sync.getRepo?did=$did")
t1=$(date +%s.%N)
size=$(stat -c %s "$T/fast.car")
rate=$(echo "$t0 $t1 $size" | awk '{ printf "%.0f", $3 / ($2 - $1) / 1048576 }')
echo "# fast reader: $size bytes at $rate MB/s"
[ "$code" = 200 ] && [ "$size" -gt $((NREC * SIZE)) ] &&
    ok "fast reader got the whole export ($size bytes)" ||
    notok "fast export" "$code $size"
[ "$rate" -ge 10 ] && ok "fast reader at $rate MB/s" ||
    notok "fast reader at only $rate MB/s"
"$PDSCTL" inspect "$T/fast.car" >"$T/inspect" 2>&1 &&
    ok "the export is a well-formed repository CAR" ||
    notok "pdsctl inspect" "$(tail -3 "$T/inspect")"
grep -q "$NREC" "$T/inspect" && ok "... with every record" ||
    notok "record count" "$(cat "$T/inspect")"

# The same with gzip: compressed as it streams (level 1 for a CAR),
# still only as fast as the reader takes it, and it inflates to the CAR.
curl -sS --limit-rate "$RATE" -o "$T/slow.gz" -D "$T/slow.h" \
    -H 'Accept-Encoding: gzip' "$X/com.atproto.sync.getRepo?did=$did" \
    2>/dev/null &
slow=$!
gmax=0 n=0
while [ $n -lt $((SLOW_SECS * 5 / 2)) ]; do
	r=$(rss)
	[ "$r" -gt "$gmax" ] && gmax=$r
	sleep 0.2
	n=$((n + 1))
done
kill "$slow" 2>/dev/null
wait "$slow" 2>/dev/null
echo "# slow gzip reader: $(stat -c %s "$T/slow.gz") bytes; VmRSS peak ${gmax} kB"
grep -qi '^Content-Encoding: gzip' "$T/slow.h" && [ -s "$T/slow.gz" ] &&
    [ $((gmax - base_rss)) -le "$GROW_KB" ] &&
    ok "a slow gzip reader: frontend grew $((gmax - base_rss)) kB" ||
    notok "slow gzip reader" "grew $((gmax - base_rss)) kB; $(cat "$T/slow.h")"
curl -sS -o "$T/fast.gz" -H 'Accept-Encoding: gzip' \
    "$X/com.atproto.sync.getRepo?did=$did" &&
    gzip -dc <"$T/fast.gz" | cmp -s - "$T/fast.car" &&
    ok "a gzipped export inflates to the plain one" ||
    notok "gzipped export" "$(stat -c %s "$T/fast.gz")"
# The head leaves before the first step is read: the first chunk is the
# gzip header alone (10 bytes), not the header with a deflated step.
curl -sS --raw -o "$T/raw.gz" -H 'Accept-Encoding: gzip' \
    "$X/com.atproto.sync.getRepo?did=$did" &&
    [ "$(head -c 15 "$T/raw.gz" | od -An -tx1 | tr -d ' \n')" = \
    "610d0a1f8b08000000000000030d0a" ] &&
    ok "a gzipped export's head goes out at once" ||
    notok "gzipped export's first chunk" \
    "$(head -c 15 "$T/raw.gz" | od -An -tx1)"
# HTTP/1.0: no chunks, the gzip stream ends at the close.
curl -sS --http1.0 -o "$T/h10.gz" -H 'Accept-Encoding: gzip' \
    "$X/com.atproto.sync.getRepo?did=$did" &&
    gzip -dc <"$T/h10.gz" | cmp -s - "$T/fast.car" &&
    ok "an HTTP/1.0 gzipped export inflates to the plain one" ||
    notok "HTTP/1.0 gzipped export" "$(stat -c %s "$T/h10.gz")"
# Exports at once, and clients that hang up while pieces are being read
# and compressed on the threads: each whole one is right, none of the
# others leaves the frontend in a state that breaks the next.
pids=
for i in 1 2 3 4; do
	curl -sS -H 'Accept-Encoding: gzip' \
	    "$X/com.atproto.sync.getRepo?did=$did" 2>/dev/null |
	    head -c $((i * 300000)) >/dev/null &
	pids="$pids $!"
done
for i in 1 2; do
	curl -sS -o "$T/par$i.gz" -H 'Accept-Encoding: gzip' \
	    "$X/com.atproto.sync.getRepo?did=$did" &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p"
done
for i in 1 2; do
	gzip -dc <"$T/par$i.gz" | cmp -s - "$T/fast.car" &&
	    ok "concurrent gzipped export $i inflates to the plain one" ||
	    notok "concurrent gzipped export $i" "$(stat -c %s "$T/par$i.gz")"
done
after=$(hwm)
echo "# frontend after the exports: VmHWM ${after} kB"
kill -0 "$PID" && ok "pdsd still running" || notok "pdsd died"

done_testing
