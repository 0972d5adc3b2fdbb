#!/bin/sh
# resolveHandle and updateHandle for handles hosted elsewhere: the
# _atproto TXT record and /.well-known/atproto-did, looked up side by
# side, DNS first, as the reference does.  tests/node/fake_handles.mjs
# plays the name server ("resolver 127.0.0.1 port N") and the handles'
# web servers ("resolver http 127.0.0.1 port M": plain HTTP to a
# loopback server, with the handle as Host).
. "$(dirname "$0")/lib.subr"

NODE=$top/tests/node/node_modules/.bin/node
J='content-type: application/json'
D1=did:plc:6adr3q2labdllanslzhqkqd3
D2=did:plc:ewvi7nxzyoun6zhxrhs64oiz
DNSPORT=$(free_port)
WEBPORT=$(free_port)

# table JSON: what the fake outside world answers from now on.
table() {
	printf '%s\n' "$1" >"$T/table.json.new" &&
	    mv "$T/table.json.new" "$T/table.json"
}

table '{}'
"$NODE" "$top/tests/node/fake_handles.mjs" --dns-port "$DNSPORT" \
    --http-port "$WEBPORT" --table "$T/table.json" >"$T/fake.log" 2>&1 &
FAKE=$!
i=0
until curl -s -o /dev/null "http://127.0.0.1:$WEBPORT/" || [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
write_conf
cat >>"$T/pdsd.conf" <<CONF
resolver 127.0.0.1 port $DNSPORT
resolver http 127.0.0.1 port $WEBPORT
CONF
if ! start_pdsd; then
	notok "pdsd starts" "$(tail -5 "$T/log")"
	kill "$FAKE"
	done_testing
	exit 1
fi
X=$URL/xrpc
R=$X/com.atproto.identity.resolveHandle

table "{
 \"dns.elsewhere.net\": {\"txt\": [[\"did=$D1\"]]},
 \"split.elsewhere.net\": {\"txt\": [[\"v=spf1 -all\"], [\"did=did:plc:\", \"${D1#did:plc:}\"]]},
 \"web.elsewhere.net\": {\"http\": \"$D2\\n\"},
 \"both.elsewhere.net\": {\"txt\": [[\"did=$D1\"]], \"http\": \"$D2\"},
 \"two.elsewhere.net\": {\"txt\": [[\"did=$D1\"], [\"did=$D2\"]]},
 \"twoweb.elsewhere.net\": {\"txt\": [[\"did=$D1\"], [\"did=$D2\"]], \"http\": \"$D2\"},
 \"bad.elsewhere.net\": {\"txt\": [[\"did=not a did\"]], \"http\": \"<html>$D2</html>\"},
 \"line.elsewhere.net\": {\"http\": \"\\n$D2\"},
 \"err.elsewhere.net\": {\"http\": \"$D2\", \"status\": 500},
 \"slow.elsewhere.net\": {\"dnsDrop\": true, \"http\": \"$D2\"},
 \"hang.elsewhere.net\": {\"http\": \"$D2\", \"httpDelay\": 8000}
}"

expect "a TXT record resolves" "o.did === '$D1'" "$R?handle=dns.elsewhere.net"
expect "its strings joined, other TXT records passed by" "o.did === '$D1'" \
    "$R?handle=split.elsewhere.net"
expect "handles are case-insensitive" "o.did === '$D1'" \
    "$R?handle=DNS.ElseWhere.NET"
grep -q "^dns _atproto.dns.elsewhere.net 16" "$T/fake.log" &&
    ok "the question is the lower-case _atproto TXT name" ||
    notok "TXT question" "$(cat "$T/fake.log")"
expect "/.well-known/atproto-did resolves when DNS has nothing" \
    "o.did === '$D2'" "$R?handle=web.elsewhere.net"
grep -q "^http web.elsewhere.net /.well-known/atproto-did" "$T/fake.log" &&
    ok "the well-known fetch names the handle as Host" ||
    notok "Host" "$(cat "$T/fake.log")"
expect "DNS wins over the well-known answer" "o.did === '$D1'" \
    "$R?handle=both.elsewhere.net"
expect "two did= records: DNS gives none, the well-known DID counts" \
    "o.did === '$D2'" "$R?handle=twoweb.elsewhere.net"
for h in two bad line err nothing; do
	refused "$h.elsewhere.net does not resolve" 400 InvalidRequest \
	    "Unable to resolve handle" "$R?handle=$h.elsewhere.net"
done
refused "an unknown handle in our own domains" 400 HandleNotFound \
    "Unable to resolve handle" "$R?handle=nobody.test"
refused "a reserved TLD is never looked up" 400 InvalidRequest \
    "Unable to resolve handle" "$R?handle=alice.onion"
grep -q "alice.onion" "$T/fake.log" && notok "no lookup of alice.onion" ||
    ok "no lookup of alice.onion"

# A name server that never answers: the loop serves others meanwhile,
# and the well-known answer counts once DNS has given up.
t0=$(date +%s%N)
curl -sS -o "$T/slow" -w '%{http_code}' "$R?handle=slow.elsewhere.net" \
    >"$T/slow.st" &
CURL=$!
sleep 0.3
call "$X/com.atproto.server.describeServer"
t1=$(date +%s%N)
[ "$st" = 200 ] && [ $(((t1 - t0) / 1000000)) -lt 2000 ] &&
    ok "describeServer answered while a lookup waits on DNS" ||
    notok "loop blocked" "$st after $(((t1 - t0) / 1000000)) ms"
wait_gone "$CURL" 150
t2=$(date +%s%N)
case "$(cat "$T/slow.st") $(cat "$T/slow")" in
"200 {\"did\":\"$D2\"}") ok "a silent name server: the well-known DID" ;;
*) notok "slow" "$(cat "$T/slow.st") $(cat "$T/slow")" ;;
esac
ms=$(((t2 - t0) / 1000000))
[ "$ms" -ge 900 ] && [ "$ms" -lt 12000 ] &&
    ok "after the DNS deadline ($ms ms)" || notok "DNS deadline" "$ms ms"

# A web server that answers too late: the fetch gives up after 3 s.
t0=$(date +%s%N)
refused "a well-known answer after the deadline does not count" 400 \
    InvalidRequest "Unable to resolve handle" "$R?handle=hang.elsewhere.net"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 2500 ] && [ "$ms" -lt 6000 ] &&
    ok "the well-known fetch gives up after 3 s ($ms ms)" ||
    notok "well-known deadline" "$ms ms"

# updateHandle to a handle elsewhere: it must name the account's DID.
account alice.test || notok "createAccount" "$(cat "$T/body")"
table "{
 \"alice.elsewhere.net\": {\"txt\": [[\"did=$did\"]]},
 \"alice-web.elsewhere.net\": {\"http\": \"$did\"},
 \"dns.elsewhere.net\": {\"txt\": [[\"did=$D1\"]]}
}"
call -H "$J" -H "authorization: Bearer $tok" \
    -d '{"handle":"dns.elsewhere.net"}' "$X/com.atproto.identity.updateHandle"
[ "$st" = 400 ] && [ "$(jx o.message)" = "External handle did not resolve to DID" ] &&
    ok "updateHandle to a handle of another DID is refused" ||
    notok "updateHandle other" "$st $(cat "$T/body")"
for h in alice.elsewhere.net alice-web.elsewhere.net; do
	call -H "$J" -H "authorization: Bearer $tok" \
	    -d "{\"handle\":\"$h\"}" "$X/com.atproto.identity.updateHandle"
	[ "$st" = 200 ] && ok "updateHandle to $h" ||
	    notok "updateHandle $h" "$st $(cat "$T/body")"
	expect "resolveHandle $h: ours now" "o.did === '$did'" \
	    "$R?handle=$h"
done

kill "$FAKE" 2>/dev/null
done_testing
