#!/bin/sh
# At -vv the frontend logs each write's and each import's stage times
# and any turn of its event loop held more than 5 ms (pdsd(8), -v); at
# the default level it logs none of them and takes no timestamps.  A frontend stopped for 300 ms
# (SIGSTOP, SIGCONT) is a held loop with no CPU spent.
. "$(dirname "$0")/lib.subr"

J='Content-Type: application/json'

# run_once handle args...: a daemon, a write, a stall of its frontend.
run_once() {
	h=$1
	shift
	: >"$T/log"
	write_conf
	must_start_pdsd "$@"
	X=$URL/xrpc
	account "$h" || notok "$h: createAccount" "$st $(cat "$T/body")"
	call -H "$J" -H "Authorization: Bearer $tok" -d "{\"repo\":\"$did\",
	    \"collection\":\"app.bsky.feed.post\",\"record\":{\"\$type\":
	    \"app.bsky.feed.post\",\"text\":\"hi\",\"createdAt\":
	    \"2026-11-26T00:00:00.000Z\"}}" "$X/com.atproto.repo.createRecord"
	[ "$st" = 200 ] || notok "$h: createRecord" "$st $(cat "$T/body")"
	curl -fsS -o "$T/self.car" \
	    "$X/com.atproto.sync.getRepo?did=$did" &&
	    "$PDSCTL" -s "$T/pdsd.sock" import --did "$did" "$T/self.car" \
	    >/dev/null || notok "$h: import" "the repo exported and imported"
	fe=$("$PDSCTL" -s "$T/pdsd.sock" status |
	    sed -n 's/.*frontend \([0-9]*\),.*/\1/p')
	kill -STOP "$fe"
	sleep 0.3
	kill -CONT "$fe"
	sleep 0.2
	curl -fsS "$URL/xrpc/_health" >/dev/null
	kill "$PID"
	wait_gone "$PID" 50
	PID=
	rm -rf "$T/data" "$T/keys"
}

run_once loud.test -vv
if grep -Eq "write $did status 0: [0-9]+ us: queued [0-9]+ prepared [0-9]+ signer [0-9]+ lock [0-9]+ stored [0-9]+ committed [0-9]+" "$T/log"; then
	ok "-vv: the write's stage times are logged"
else
	notok "-vv: stage times" "$(grep "write " "$T/log" | tail -3)"
fi
if grep -Eq "import $did: [0-9]+ us: cleared [0-9]+ streamed [0-9]+ walked [0-9]+ indexed [0-9]+ blocks [0-9]+ committed [0-9]+" "$T/log"; then
	ok "-vv: the import's stage times are logged"
else
	notok "-vv: import stage times" "$(grep "import " "$T/log" | tail -3)"
fi
held=$(sed -n 's/.*loop held \([0-9]*\) ms: \([0-9]*\) ms on CPU.*/\1 \2/p' "$T/log" | sort -n | tail -1)
if [ -n "$held" ] && [ "${held% *}" -ge 250 ] && [ "${held#* }" -lt 100 ]; then
	ok "-vv: the stopped loop is logged as held ($held: ms held, ms on CPU)"
else
	notok "-vv: loop held" "got '$held'; $(grep "loop held" "$T/log" | tail -3)"
fi

run_once quiet.test
if grep -q "loop held\|status 0: [0-9]* us: queued\|us: cleared" "$T/log"; then
	notok "default level: no stage times, no loop lines" "$(grep "loop held\|us: queued\|us: cleared" "$T/log" | tail -3)"
else
	ok "default level: no stage times, no loop lines"
fi
done_testing
