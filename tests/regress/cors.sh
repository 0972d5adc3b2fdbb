#!/bin/sh
# CORS, caching headers and gzip, as the reference PDS answers: any
# origin may call (Access-Control-Allow-Origin: * on every answer,
# errors too), a preflight OPTIONS on any path gets 204 with the
# methods, the asked headers and a day's Max-Age; logged-in answers are
# Cache-Control: private; JSON and CAR answers are gzipped for a client
# that accepts it (whole ones above 1 KiB, streamed ones always) and
# inflate to exactly the plain answer.
. "$(dirname "$0")/lib.subr"

J='Content-Type: application/json'

write_conf
must_start_pdsd
X=$URL/xrpc

# hdr name file: the value of a response header (last one), no CR.
hdr() {
	grep -i "^$1:" "$2" | tail -1 | sed 's/^[^:]*: *//' | tr -d '\r'
}

# has name value file: some header line name: value.
has() {
	tr -d '\r' <"$3" | grep -qix "$1: $2"
}

# 1. Preflight.
st=$(curl -sS -o "$T/body" -D "$T/h" -w '%{http_code}' -X OPTIONS \
    -H 'Origin: https://app.example' \
    -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: authorization,content-type' \
    "$X/com.atproto.repo.createRecord")
if [ "$st" = 204 ] && [ ! -s "$T/body" ] &&
    has Access-Control-Allow-Origin '\*' "$T/h" &&
    has Access-Control-Allow-Methods 'GET,HEAD,PUT,PATCH,POST,DELETE' "$T/h" &&
    has Access-Control-Allow-Headers 'authorization,content-type' "$T/h" &&
    has Access-Control-Max-Age 86400 "$T/h" &&
    has Vary Access-Control-Request-Headers "$T/h"; then
	ok "preflight: 204 with methods, headers and max-age"
else
	notok "preflight" "$st $(cat "$T/h")"
fi
st=$(curl -sS -o /dev/null -D "$T/h" -w '%{http_code}' -X OPTIONS \
    "$URL/no/such/path")
[ "$st" = 204 ] && has Access-Control-Allow-Origin '\*' "$T/h" &&
    ! grep -qi '^Access-Control-Allow-Headers' "$T/h" &&
    ok "preflight on any path, no headers asked" ||
    notok "preflight on any path" "$st $(cat "$T/h")"
# Keep-alive: a preflight then a request on one connection.
curl -sS -o /dev/null -o /dev/null -D "$T/h" -X OPTIONS \
    "$X/_health" --next -sS -o /dev/null "$X/_health" -w '%{num_connects}' \
    >"$T/n"
[ "$(cat "$T/n")" = 0 ] && ok "preflight keeps the connection" ||
    notok "preflight keeps the connection" "$(cat "$T/n")"

# 2. Allow-Origin on answers and errors of every kind.
for u in "$X/_health" "$URL/" "$X/com.atproto.server.describeServer" \
    "$X/no.such.method" "$URL/nothing" \
    "$X/com.atproto.repo.getRecord"; do
	curl -sS -o /dev/null -D "$T/h" -H 'Origin: https://a.example' "$u"
	has Access-Control-Allow-Origin '\*' "$T/h" ||
	    { notok "Allow-Origin on $u" "$(cat "$T/h")"; continue; }
	ok "Allow-Origin on $u ($(head -1 "$T/h" | cut -d' ' -f2))"
done
# The HTTP layer's own error: a head it refuses.
big=$(head -c 9000 /dev/zero | tr '\0' a)
st=$(curl -sS -o /dev/null -D "$T/h" -w '%{http_code}' -H "X-Big: $big" \
    "$X/_health")
[ "$st" = 431 ] && has Access-Control-Allow-Origin '\*' "$T/h" &&
    ok "Allow-Origin on the layer's own 431" ||
    notok "Allow-Origin on 431" "$st $(cat "$T/h")"

# 3. An account and enough records for a listRecords over 1 KiB.
curl -sS -o "$T/acct" -H "$J" -d '{"handle":"alice.test",
    "email":"alice@example.com","password":"pw-alice-123"}' \
    "$X/com.atproto.server.createAccount"
did=$(sed -n 's/.*"did":"\([^"]*\)".*/\1/p' "$T/acct")
tok=$(sed -n 's/.*"accessJwt":"\([^"]*\)".*/\1/p' "$T/acct")
[ -n "$did" ] && [ -n "$tok" ] && ok "account created" ||
    notok "account created" "$(cat "$T/acct")"
A="Authorization: Bearer $tok"
n=0
i=0
while [ $i -lt 30 ]; do
	st=$(curl -sS -o /dev/null -w '%{http_code}' -H "$A" -H "$J" \
	    -d "{\"repo\":\"$did\",\"collection\":\"app.bsky.feed.post\",
	    \"record\":{\"\$type\":\"app.bsky.feed.post\",\"text\":\"post $i
	    of the cors test, long enough to make the answer worth
	    compressing\",\"createdAt\":\"2024-01-01T00:00:00.000Z\"}}" \
	    "$X/com.atproto.repo.createRecord")
	[ "$st" = 200 ] && n=$((n + 1))
	i=$((i + 1))
done
[ $n = 30 ] && ok "30 records written" || notok "records written" "$n"

# 4. Authenticated answers are private; anonymous ones say nothing.
curl -sS -o /dev/null -D "$T/h" -H "$A" "$X/com.atproto.server.getSession"
has Cache-Control private "$T/h" && has Vary Authorization "$T/h" &&
    has Access-Control-Allow-Origin '\*' "$T/h" &&
    ok "getSession: Cache-Control private, Vary Authorization" ||
    notok "getSession private" "$(cat "$T/h")"
curl -sS -o /dev/null -D "$T/h" -H "Authorization: Bearer nope" \
    "$X/com.atproto.server.getSession"
has Cache-Control private "$T/h" &&
    ok "a refused login answer is private too" ||
    notok "refused private" "$(cat "$T/h")"
curl -sS -o /dev/null -D "$T/h" "$X/com.atproto.server.describeServer"
grep -qi '^Cache-Control' "$T/h" &&
    notok "anonymous answer has no Cache-Control" "$(cat "$T/h")" ||
    ok "anonymous answer has no Cache-Control"

# 5. gzip on a whole JSON answer: same bytes once inflated.
LR="$X/com.atproto.repo.listRecords?repo=$did&collection=app.bsky.feed.post&limit=100"
curl -sS -o "$T/plain" -D "$T/hp" "$LR"
curl -sS -o "$T/gz" -D "$T/hg" -H 'Accept-Encoding: gzip' "$LR"
if has Content-Encoding gzip "$T/hg" && has Vary Accept-Encoding "$T/hg" &&
    [ "$(stat -c %s "$T/plain")" -gt 1024 ] &&
    [ "$(stat -c %s "$T/gz")" -lt "$(stat -c %s "$T/plain")" ] &&
    [ "$(hdr Content-Length "$T/hg")" = "$(stat -c %s "$T/gz")" ] &&
    gzip -dc <"$T/gz" | cmp -s - "$T/plain"; then
	ok "listRecords gzipped, inflates to the plain answer"
else
	notok "listRecords gzip" "$(cat "$T/hg")"
fi
! grep -qi '^Content-Encoding' "$T/hp" && has Vary Accept-Encoding "$T/hp" &&
    ok "no gzip without Accept-Encoding, Vary still set" ||
    notok "no gzip without Accept-Encoding" "$(cat "$T/hp")"
curl -sS -o "$T/gz2" -D "$T/h" -H 'Accept-Encoding: br, gzip;q=0' "$LR"
! grep -qi '^Content-Encoding' "$T/h" && cmp -s "$T/gz2" "$T/plain" &&
    ok "gzip;q=0 is honoured" || notok "gzip;q=0" "$(cat "$T/h")"
curl -sS -o "$T/small" -D "$T/h" -H 'Accept-Encoding: gzip' "$X/_health"
! grep -qi '^Content-Encoding' "$T/h" && grep -q version "$T/small" &&
    ok "a small answer is not compressed" || notok "small answer" \
    "$(cat "$T/h")"
st=$(curl -sS -o "$T/body" -w '%{http_code}' --compressed "$LR")
[ "$st" = 200 ] && cmp -s "$T/body" "$T/plain" &&
    ok "curl --compressed reads it" || notok "curl --compressed" "$st"
# Answers one after the other on one connection, each compressed by
# the compressor the one before left (kept and reset): each inflates
# to its own plain answer.
LRN="$X/com.atproto.repo.listRecords?repo=$did&collection=app.bsky.feed.post&limit"
n=0
for l in 30 12 29 20; do
	curl -sS -o "$T/p$l" "$LRN=$l"
done
curl -sS -H 'Accept-Encoding: gzip' -o "$T/z30" "$LRN=30" -o "$T/z12" \
    "$LRN=12" -o "$T/z29" "$LRN=29" -o "$T/z20" "$LRN=20"
for l in 30 12 29 20; do
	gzip -dc <"$T/z$l" 2>/dev/null | cmp -s - "$T/p$l" &&
	    [ "$(stat -c %s "$T/z$l")" -lt "$(stat -c %s "$T/p$l")" ] &&
	    n=$((n + 1))
done
[ $n = 4 ] && ok "four gzipped answers in turn, each inflates to its own" ||
    notok "gzipped answers in turn" "$n of 4"

# 6. gzip on CARs: getRepo (whole, this repo being small) and getBlocks
# (streamed: flushed block by block, so chunked), same bytes inflated.
GR="$X/com.atproto.sync.getRepo?did=$did"
curl -sS -o "$T/car" "$GR"
curl -sS -o "$T/car.gz" -D "$T/h" -H 'Accept-Encoding: gzip' "$GR"
if has Content-Encoding gzip "$T/h" &&
    [ "$(stat -c %s "$T/car")" -gt 1024 ] &&
    gzip -dc <"$T/car.gz" | cmp -s - "$T/car"; then
	ok "getRepo gzipped, inflates to the plain CAR"
else
	notok "getRepo gzip" "$(cat "$T/h") $(stat -c %s "$T/car" "$T/car.gz")"
fi
GB="$X/com.atproto.sync.getBlocks?did=$did"
for c in $(grep -o '"cid":"[^"]*"' "$T/plain" | cut -d'"' -f4); do
	GB="$GB&cids=$c"
done
curl -sS -o "$T/blocks" "$GB"
curl -sS -o "$T/blocks.gz" -D "$T/h" -H 'Accept-Encoding: gzip' "$GB"
if has Content-Encoding gzip "$T/h" &&
    has Transfer-Encoding chunked "$T/h" &&
    [ "$(stat -c %s "$T/blocks")" -gt 1024 ] &&
    gzip -dc <"$T/blocks.gz" | cmp -s - "$T/blocks"; then
	ok "getBlocks gzipped while streamed, inflates to the plain CAR"
else
	notok "getBlocks gzip" "$(cat "$T/h")"
fi
# HTTP/1.0: no chunking, the gzip stream ends at the close.
curl -sS -0 -o "$T/b10.gz" -D "$T/h" -H 'Accept-Encoding: gzip' "$GB"
has Content-Encoding gzip "$T/h" && gzip -dc <"$T/b10.gz" |
    cmp -s - "$T/blocks" && ok "streamed gzip over HTTP/1.0" ||
    notok "streamed gzip over HTTP/1.0" "$(cat "$T/h")"
# HEAD: the plain answer's headers, no body.
st=$(curl -sS -I -o "$T/h" -w '%{http_code}' -H 'Accept-Encoding: gzip' "$LR")
[ "$st" = 200 ] && ! grep -qi '^Content-Encoding' "$T/h" &&
    ok "HEAD is not compressed" || notok "HEAD" "$st $(cat "$T/h")"

# 7. Many gzipped answers on one connection, then still serving.
: >"$T/urls"
i=0
while [ $i -lt 20 ]; do
	echo "url = \"$LR\"" >>"$T/urls"
	echo "output = \"$T/k$i\"" >>"$T/urls"
	i=$((i + 1))
done
curl -sS --compressed -K "$T/urls" -w '%{num_connects}\n' >"$T/n"
bad=0
i=0
while [ $i -lt 20 ]; do
	cmp -s "$T/k$i" "$T/plain" || bad=$((bad + 1))
	i=$((i + 1))
done
[ $bad = 0 ] && [ "$(tr -d '\n' <"$T/n")" = "1$(printf '0%.0s' $(seq 19))" ] &&
    ok "20 gzipped answers on one kept-alive connection" ||
    notok "keep-alive gzip" "bad=$bad $(tr '\n' ' ' <"$T/n")"
kill -0 "$PID" 2>/dev/null && ok "pdsd still running" ||
    notok "pdsd still running" "$(tail -5 "$T/log")"

done_testing
