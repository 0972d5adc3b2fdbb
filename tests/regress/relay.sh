#!/bin/sh
# Relays: pdsd sends com.atproto.sync.requestCrawl with its hostname to
# every "relay" of pdsd.conf at start (a trailing slash in the URL is
# dropped).  A tiny fake relay (node's http module) records each call.
# A relay that is down is logged, shown by
# "pdsctl relay list" and retried with back-off until it answers; one
# that refuses shows the reason; "pdsctl crawl" asks again now; a
# reload that drops a relay drops it from the list.  The older
# spellings "relay status" and "relay crawl" still work.  pdsd keeps
# serving throughout.
. "$(dirname "$0")/lib.subr"

HOST=pds.example.com

cat >"$T/relay.js" <<'EOF'
// node relay.js port logfile failfile: answer requestCrawl, log each.
const http = require("http");
const fs = require("fs");
const [port, log, failfile] = process.argv.slice(2);
http.createServer((req, res) => {
	let body = "";
	req.on("data", (d) => { body += d; });
	req.on("end", () => {
		fs.appendFileSync(log, JSON.stringify({ method: req.method,
		    url: req.url, type: req.headers["content-type"] || "",
		    body }) + "\n");
		if (fs.existsSync(failfile)) {
			res.writeHead(400, { "content-type": "application/json" });
			res.end('{"error":"HostBanned","message":"this host is banned"}');
			return;
		}
		res.writeHead(200, { "content-type": "application/json" });
		res.end("{}");
	});
}).listen(Number(port), "127.0.0.1");
EOF

# until_ok tenths command...: poll until the command succeeds.
until_ok() {
	n=$1
	shift
	i=0
	while [ $i -lt "$n" ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

relay_up() {
	curl -sS -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null
}

# start_relay name port: the fake relay, its calls in $T/name.log.
start_relay() {
	node "$T/relay.js" "$2" "$T/$1.log" "$T/$1.fail" >>"$T/$1.out" 2>&1 &
	eval "${1}PID=$!"
	until_ok 100 relay_up "$2" || return 1
	: >"$T/$1.log"
}

# calls name: requestCrawl calls the relay has seen.
calls() {
	grep -c 'com.atproto.sync.requestCrawl' "$T/$1.log" 2>/dev/null
}

# wait_calls name n tenths: until the relay has seen n calls.
has_calls() {
	[ "$(calls "$1")" -ge "$2" ] 2>/dev/null
}
wait_calls() {
	until_ok "$3" has_calls "$1" "$2"
}

# status_has pattern: "pdsctl relay list", in $T/status, matches.
status_has() {
	"$PDSCTL" -s "$SOCK" relay list >"$T/status" 2>&1
	grep -q "$1" "$T/status"
}
status_lacks() {
	! status_has "$1"
}
wait_status() {
	until_ok "$2" status_has "$1"
}

APORT=$(free_port)
BPORT=$(free_port)
if ! start_relay A "$APORT"; then
	notok "fake relay starts" "$(cat "$T/A.out")"
	done_testing
	exit 1
fi
write_conf
cat >>"$T/pdsd.conf" <<CONF
hostname "$HOST"
relay "http://127.0.0.1:$APORT"
relay "http://127.0.0.1:$BPORT/"
CONF
must_start_pdsd

# 1. The relay that is up hears from us at start.
if wait_calls A 1 100; then
	ok "requestCrawl arrives at start"
else
	notok "requestCrawl arrives at start" "$(cat "$T/A.log")"
fi
line=$(head -1 "$T/A.log")
case $line in
*'"method":"POST","url":"/xrpc/com.atproto.sync.requestCrawl"'*'"type":"application/json"'*"\"body\":\"{\\\"hostname\\\":\\\"$HOST\\\"}\""*)
	ok "POST with our hostname as JSON" ;;
*)	notok "POST with our hostname as JSON" "$line" ;;
esac

# 2. The one that is down: logged, shown, not fatal.
if wait_status "failures in a row: 1" 50; then
	ok "relay list shows the failure"
else
	notok "relay list shows the failure" "$(cat "$T/status")"
fi
if grep -q "relay http://127.0.0.1:$APORT\$" "$T/status" &&
    grep -q "relay http://127.0.0.1:$BPORT\$" "$T/status" &&
    awk '/^relay http:\/\/127.0.0.1:'"$APORT"'$/{a=1;next} /^relay/{a=0}
	a && /last success: [0-9][0-9][0-9][0-9]-/{s=1} END{exit !s}' "$T/status" &&
    grep -q "last error: .*[Cc]onnect" "$T/status"; then
	ok "relay list: both relays, success and last error"
else
	notok "relay list: both relays" "$(cat "$T/status")"
fi
grep -q "relay http://127.0.0.1:$BPORT: requestCrawl failed" "$T/log" &&
    ok "the failure is logged" || notok "the failure is logged" \
    "$(tail -5 "$T/log")"
st=$(curl -sS -o /dev/null -w '%{http_code}' "$URL/xrpc/_health")
[ "$st" = 200 ] && kill -0 "$PID" 2>/dev/null &&
    ok "pdsd serves with a relay down" || notok "pdsd serves" "$st"

# 3. It comes up: the retry (after back-off) reaches it.
if ! start_relay B "$BPORT"; then
	notok "second fake relay starts" "$(cat "$T/B.out")"
elif wait_calls B 1 300; then
	ok "a failed relay is retried until it answers"
else
	notok "a failed relay is retried" "$(cat "$T/status")"
fi
if until_ok 30 status_lacks "failures"; then
	ok "relay list clears the error after a success"
else
	notok "relay list clears the error" "$(cat "$T/status")"
fi

# 4. No new request without new events or a reason.
sleep 6
[ "$(calls A)" = 1 ] && ok "no repeat within the interval" ||
    notok "no repeat within the interval" "$(calls A) calls"

# 5. pdsctl crawl asks again now; a refusal shows its reason.
touch "$T/A.fail"
if "$PDSCTL" -s "$SOCK" crawl >"$T/out" 2>&1 && wait_calls A 2 50 &&
    wait_calls B 2 50; then
	ok "pdsctl crawl asks every relay again"
else
	notok "pdsctl crawl" "$(cat "$T/out") A=$(calls A) B=$(calls B)"
fi
if wait_status "last error: HTTP 400: this host is banned" 50; then
	ok "a refusal shows the relay's message"
else
	notok "a refusal shows the relay's message" "$(cat "$T/status")"
fi
rm -f "$T/A.fail"

# 6. A reload that drops relay B: gone from the status, no more calls.
sed -i "/127.0.0.1:$BPORT/d" "$T/pdsd.conf"
"$PDSCTL" -s "$SOCK" reload >"$T/out" 2>&1
if wait_status "relay http://127.0.0.1:$APORT" 50 &&
    ! grep -q ":$BPORT" "$T/status"; then
	ok "reload drops a relay"
else
	notok "reload drops a relay" "$(cat "$T/out") $(cat "$T/status")"
fi
nb=$(calls B)
# The older spelling of crawl.
"$PDSCTL" -s "$SOCK" relay crawl >/dev/null 2>&1
wait_calls A 3 50
sleep 0.5
[ "$(calls B)" = "$nb" ] && [ "$(calls A)" -ge 3 ] &&
    ok "a dropped relay is not asked" ||
    notok "a dropped relay is not asked" "A=$(calls A) B=$(calls B)"

# 7. Bad control requests do not hurt; none configured says so.
"$PDSCTL" -s "$SOCK" relay bogus >/dev/null 2>&1
[ $? = 1 ] && ok "pdsctl relay: unknown subcommand fails" ||
    notok "pdsctl relay bogus"
"$PDSCTL" -s "$SOCK" crawl now >/dev/null 2>&1
[ $? = 1 ] && ok "pdsctl crawl takes no argument" ||
    notok "pdsctl crawl now"
kill -0 "$PID" 2>/dev/null && ok "pdsd still running" ||
    notok "pdsd still running" "$(tail -5 "$T/log")"

kill "$APID" "$BPID" 2>/dev/null
kill "$PID"
wait_gone "$PID" 100
PID=

# A configuration without relays: the list says so (and the older
# spelling gives the same).
write_conf
if start_pdsd; then
	"$PDSCTL" -s "$SOCK" relay list >"$T/status" 2>&1
	grep -q "no relays configured" "$T/status" &&
	    ok "no relays configured" ||
	    notok "no relays configured" "$(cat "$T/status")"
	"$PDSCTL" -s "$SOCK" relay status >"$T/status2" 2>&1
	cmp -s "$T/status" "$T/status2" &&
	    ok "relay status is relay list" ||
	    notok "relay status is relay list" "$(cat "$T/status2")"
	kill "$PID"
	wait_gone "$PID" 100
	PID=
else
	notok "pdsd starts without relays" "$(tail -5 "$T/log")"
fi

done_testing
