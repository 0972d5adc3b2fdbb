#!/bin/sh
# The frontend's HTTP surface as a client sees it: the plain paths, XRPC
# errors shaped as the reference PDS shapes them, HEAD, keep-alive.
. "$(dirname "$0")/lib.subr"

write_conf
must_start_pdsd

# expect "desc" status body-substring curl-args...
expect() {
	d=$1 st=$2 want=$3
	shift 3
	got=$(curl -sS -o "$T/body" -w '%{http_code} %{content_type}' "$@")
	body=$(cat "$T/body")
	case "$got" in
	"$st "*) ;;
	*) notok "$d" "status/type: $got body: $body"; return ;;
	esac
	case "$body" in
	*"$want"*) ok "$d" ;;
	*) notok "$d" "body: $body" ;;
	esac
}

expect "_health" 200 '{"version":"' "$URL/xrpc/_health"
expect "banner on /" 200 "AT Protocol Personal Data Server" "$URL/"
expect "robots.txt" 200 "User-agent: *" "$URL/robots.txt"
expect "unknown XRPC method" 400 \
    '{"error":"InvalidRequest","message":"No service configured for com.example.doesNotExist"}' \
    "$URL/xrpc/com.example.doesNotExist"
expect "POST to a query" 400 \
    '{"error":"InvalidRequest","message":"Incorrect HTTP method (POST) expected GET"}' \
    -X POST -H 'content-type: application/json' -d '{}' "$URL/xrpc/_health"
expect "describeServer" 200 \
    '{"did":"did:web:localhost","availableUserDomains":[".test"],"inviteCodeRequired":false,' \
    "$URL/xrpc/com.atproto.server.describeServer"
expect "unknown path" 404 '{"error":"NotFound"' "$URL/no/such/thing"
ct=$(curl -sS -o /dev/null -w '%{content_type}' "$URL/xrpc/com.example.x")
[ "$ct" = "application/json; charset=utf-8" ] && ok "errors are application/json; charset=utf-8" ||
    notok "error content type" "$ct"

# HEAD: headers of the GET, no body.
h=$(curl -sS -I "$URL/xrpc/_health")
case $h in *"Content-Length: 19"*) ok "HEAD gives the GET's length" ;;
*) notok "HEAD" "$h" ;; esac

# Keep-alive: two requests on one connection.
n2=$(curl -sS -v "$URL/xrpc/_health" "$URL/xrpc/_health" 2>&1 | grep -c 'Re-using existing connection')
[ "$n2" -ge 1 ] && ok "keep-alive reuses the connection" || notok "keep-alive"

# A malformed request gets a JSON 400 and the server goes on.
r=$(printf 'GARBAGE\r\n\r\n' | curl -sS --max-time 3 telnet://127.0.0.1:$PORT 2>/dev/null | head -1)
case $r in "HTTP/1.1 400"*) ok "malformed request line: 400" ;;
*) notok "malformed request" "$r" ;; esac
# Oversized header block: 431, before the whole of it is read.
big=$(head -c 40000 /dev/zero | tr '\0' 'a')
expect "oversized header gives 431" 431 "" -H "X-Big: $big" "$URL/xrpc/_health"
check "still serving" curl -fsS "$URL/xrpc/_health"

kill -TERM "$PID"
wait_gone "$PID" 20
PID=
done_testing
