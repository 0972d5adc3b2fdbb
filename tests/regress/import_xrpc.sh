#!/bin/sh
# com.atproto.repo.importRepo against the real daemon.  tests/node/
# import.mjs drives it with @atproto/api and checks the result with
# @atproto/repo (see there); here, with curl and the database: the
# #sync events, signerd's raised rev, the body cap (413 before the body
# is read when its length is declared, and once a chunked body passes
# it), the Content-Type, and that none of the refusals changed a row.
. "$(dirname "$0")/lib.subr"

J='Content-Type: application/json'
CAR='Content-Type: application/vnd.ipld.car'
MAX=400000

write_conf
echo "import max size $MAX" >>"$T/pdsd.conf"
must_start_pdsd
X=$URL/xrpc
DB=$T/data/pdsd.db

sql() {
	sqlite3 -cmd '.timeout 5000' "$DB" "$@"
}

# Every repository row of the database, hashed: "nothing changed".
snap() {
	sql "SELECT did, commit_cid, data_cid, rev FROM repo_root ORDER BY did;
	    SELECT seq, did, type, hex(payload) FROM repo_seq ORDER BY seq;
	    SELECT did, collection, rkey, cid, rev FROM record ORDER BY 1, 2, 3;
	    SELECT did, cid, rev, hex(data) FROM repo_block ORDER BY 1, 2;" |
	    sha256sum
}

syncs() {
	sql "SELECT count(*) FROM repo_seq WHERE did = '$1' AND type = '#sync'"
}

account alice.test || notok "createAccount alice" "$st $(cat "$T/body")"
ALICE=$did
ATOK=$tok
[ "$(syncs "$ALICE")" = 1 ] || notok "one #sync after createAccount"

node_tap import import.mjs "$URL" alice.test pw-alice.test

# import.mjs made three imports that were taken, and one activation.
[ "$(syncs "$ALICE")" = 5 ] && ok "each import logged one #sync event" ||
    notok "#sync events" "$(syncs "$ALICE")"
grep -q "$ALICE: last signed rev raised to " "$T/log" &&
    ok "signerd raised its last signed rev for the account" ||
    notok "signerd raise" "$(grep -i raise "$T/log" | tail -3)"
grep -q "imported $ALICE: .*warning: the commit is not signed by the account's key" "$T/log" &&
    ok "the foreign signature is a warning in the log" ||
    notok "signature warning" "$(grep imported "$T/log" | tail -3)"

# A CAR of alice's repo as it is now, for the refusals below.
curl -sS -o "$T/alice.car" "$X/com.atproto.sync.getRepo?did=$ALICE"
before=$(snap)
unchanged() {
	[ "$(snap)" = "$before" ] && ok "$1: nothing changed" ||
	    notok "$1: nothing changed"
}

head -c $((MAX + 1)) /dev/zero >"$T/big"
req "a declared body over import max size: 413" 413 '"error":"PayloadTooLargeError"' \
    -H "$CAR" -H "Authorization: Bearer $ATOK" --data-binary @"$T/big" \
    "$X/com.atproto.repo.importRepo"
unchanged "413"
req "a chunked body over import max size: 413" 413 '"error":"PayloadTooLargeError"' \
    -H "$CAR" -H "Transfer-Encoding: chunked" \
    -H "Authorization: Bearer $ATOK" --data-binary @"$T/big" \
    "$X/com.atproto.repo.importRepo"
unchanged "chunked 413"
req "wrong Content-Type: 400" 400 \
    '"message":"Wrong request encoding (Content-Type): application/json"' \
    -H "$J" -H "Authorization: Bearer $ATOK" --data-binary @"$T/alice.car" \
    "$X/com.atproto.repo.importRepo"
req "no body: 400" 400 \
    '"message":"Request encoding (Content-Type) required but not provided"' \
    -X POST -H "Authorization: Bearer $ATOK" "$X/com.atproto.repo.importRepo"
req "a bad token: 400 InvalidToken" 400 '"error":"InvalidToken"' \
    -H "$CAR" -H "Authorization: Bearer nope" --data-binary @"$T/alice.car" \
    "$X/com.atproto.repo.importRepo"
req "GET: 400" 400 '"message":"Incorrect HTTP method (GET) expected POST"' \
    "$X/com.atproto.repo.importRepo"
head -c $(($(wc -c <"$T/alice.car") - 50)) "$T/alice.car" >"$T/short.car"
req "a CAR cut short: 400 InvalidRequest" 400 '"error":"InvalidRequest","message":"bad CAR' \
    -H "$CAR" -H "Authorization: Bearer $ATOK" --data-binary @"$T/short.car" \
    "$X/com.atproto.repo.importRepo"
unchanged "the refusals"

# At the cap exactly, and chunked: taken.
req "its own export imported back, chunked" 200 "" \
    -H "$CAR" -H "Transfer-Encoding: chunked" \
    -H "Authorization: Bearer $ATOK" --data-binary @"$T/alice.car" \
    "$X/com.atproto.repo.importRepo"
[ "$(syncs "$ALICE")" = 6 ] && ok "and logged as a #sync" ||
    notok "fifth import" "$(syncs "$ALICE")"
ls "$T/data/blobs/tmp" | grep -q . && notok "scratch files left in blobs/tmp" ||
    ok "no scratch file left behind"
kill -0 "$PID" && ok "pdsd still running" || notok "pdsd died"

done_testing
