#!/bin/sh
# Rate limits with the reference's defaults against the real daemon:
# createSession 30 per 5 minutes per identifier and address, createAccount
# 100 per 5 minutes, 3000 requests per 5 minutes per address; 429
# RateLimitExceeded with the RateLimit-* headers; a local proxy's
# X-Forwarded-For names the client; "rate limits off" turns them off.
. "$(dirname "$0")/lib.subr"

write_conf
must_start_pdsd
X=$URL/xrpc/com.atproto.server
J='Content-Type: application/json'

# login identifier [curl-args]: status; headers in $T/hdr, body $T/body.
login() {
	id=$1
	shift
	curl -sS -D "$T/hdr" -o "$T/body" -w '%{http_code}' -H "$J" "$@" \
	    -d "{\"identifier\":\"$id\",\"password\":\"wrong\"}" \
	    "$X.createSession"
}

# hdr name: a header's value from $T/hdr.
hdr() {
	sed -n "s/^$1: *\([^\r]*\).*/\1/Ip" "$T/hdr" | head -1
}

# many n url header [curl-args]: n requests on one connection, one
# status a line.
many() {
	n=$1 u=$2 h=$3
	shift 3
	: >"$T/many.cfg"
	i=0
	while [ "$i" -lt "$n" ]; do
		printf 'url = "%s"\noutput = "/dev/null"\n' "$u" >>"$T/many.cfg"
		i=$((i + 1))
	done
	curl -sS -K "$T/many.cfg" -w '%{http_code}\n' -H "$h" "$@"
}

bad=0
i=1
ts=$(date +%s)	# the window starts at the first login
while [ $i -le 30 ]; do
	st=$(login alice.test)
	[ "$st" = 401 ] || bad="$i:$st"
	i=$((i + 1))
done
[ "$bad" = 0 ] && ok "30 logins answered" || notok "30 logins" "$bad"
t0=$(date +%s)
st=$(login alice.test)
[ "$st" = 429 ] && ok "the 31st gets 429" || notok "31st login" "$st"
[ "$(cat "$T/body")" = '{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}' ] &&
    ok "RateLimitExceeded body" || notok "429 body" "$(cat "$T/body")"
[ "$(hdr RateLimit-Limit)" = 30 ] && [ "$(hdr RateLimit-Remaining)" = 0 ] &&
    [ "$(hdr RateLimit-Policy)" = "30;w=300" ] &&
    ok "RateLimit-Limit, -Remaining, -Policy" ||
    notok "RateLimit headers" "$(cat "$T/hdr")"
reset=$(hdr RateLimit-Reset)
ra=$(hdr Retry-After)
[ -n "$reset" ] && [ "$reset" -ge $((ts + 299)) ] &&
    [ "$reset" -le $((t0 + 301)) ] &&
    [ "$ra" -ge $((reset - t0 - 2)) ] && [ "$ra" -le $((reset - t0 + 1)) ] &&
    ok "RateLimit-Reset and Retry-After: the window's end" ||
    notok "reset" "reset=$reset retry-after=$ra first=$ts now=$t0"
st=$(login bob.test)
[ "$st" = 401 ] && ok "another identifier is counted apart" ||
    notok "other identifier" "$st"
st=$(login alice.test -H 'X-Forwarded-For: 192.0.2.1, 10.1.1.1')
[ "$st" = 401 ] && ok "X-Forwarded-For from a local proxy names the client" ||
    notok "X-Forwarded-For" "$st"

# createAccount: 100 per 5 minutes per address (counted before the body).
out=$(many 101 "$X.createAccount" 'X-Forwarded-For: 10.8.8.8' -H "$J" -d '{}' | sort | uniq -c |
    tr -s ' ' | tr '\n' ,)
[ "$out" = " 100 400, 1 429," ] && ok "createAccount: the 101st gets 429" ||
    notok "createAccount limit" "$out"

# The global limit: 3000 requests per 5 minutes per address.
out=$(many 3001 "$X.describeServer" 'X-Forwarded-For: 10.9.9.9' | sort |
    uniq -c | tr -s ' ' | tr '\n' ,)
[ "$out" = " 3000 200, 1 429," ] && ok "global: the 3001st request gets 429" ||
    notok "global limit" "$out"
req_st=$(curl -sS -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 10.9.9.9' \
    "$URL/xrpc/_health")
[ "$req_st" = 200 ] && ok "_health is not limited" || notok "_health" "$req_st"
kill -TERM "$PID"; wait_gone "$PID" 20; PID=

# rate limits off.
echo 'rate limits off' >>"$T/pdsd.conf"
"$PDSD" -n -v -f "$T/pdsd.conf" >"$T/n.out" 2>&1
grep -qx 'rate limits off' "$T/n.out" && ok "pdsd -n prints rate limits off" ||
    notok "pdsd -n" "$(cat "$T/n.out")"
if start_pdsd; then
	bad=0
	i=1
	while [ $i -le 32 ]; do
		st=$(login carol.test)
		[ "$st" = 401 ] || bad="$i:$st"
		i=$((i + 1))
	done
	[ "$bad" = 0 ] && ok "rate limits off: 32 logins, no 429" ||
	    notok "rate limits off" "$bad"
	kill -TERM "$PID"; wait_gone "$PID" 20; PID=
else
	notok "pdsd starts with rate limits off" "$(tail -5 "$T/log")"
fi
echo 'rate limits on' >"$T/on.conf"
echo 'rate limits off' >>"$T/on.conf"
"$PDSD" -n -f "$T/on.conf" >"$T/n.out" 2>&1 &&
    notok "rate limits given twice is refused" ||
    ok "rate limits given twice is refused"
done_testing
