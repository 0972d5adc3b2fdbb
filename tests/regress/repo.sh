#!/bin/sh
# com.atproto.repo.* and com.atproto.sync.* against the real daemon,
# driven by curl: every method's answer on the happy path, and the
# reference's status, error and message for the bad requests captured
# in ../shared/bench/error-examples.json.  Then tests/node/repo.mjs
# does it again with @atproto/api and checks the exported CAR with
# @atproto/repo.
. "$(dirname "$0")/lib.subr"

NODE=$top/tests/node/node_modules/.bin/node
J='Content-Type: application/json'
POST='app.bsky.feed.post'
DATE='2024-01-01T00:00:00.000Z'

write_conf
must_start_pdsd
X=$URL/xrpc
R=$X/com.atproto.repo
S=$X/com.atproto.sync

# jx 'expr': the value of a JavaScript expression over the last body (o).
jx() {
	"$NODE" -e 'const o=JSON.parse(require("fs").readFileSync(process.argv[1]));
	    const v=eval(process.argv[2]); console.log(typeof v==="object"?
	    JSON.stringify(v):v)' "$T/body" "$1" 2>/dev/null
}

# call curl-args...: status in $st, body in $T/body.
call() {
	st=$(curl -sS -o "$T/body" -w '%{http_code}' "$@")
}

# refused "desc" status error message curl-args...: exactly that answer.
refused() {
	d=$1 want_st=$2
	want="{\"error\":\"$3\",\"message\":\"$4\"}"
	shift 4
	call "$@"
	got=$(cat "$T/body")
	if [ "$st" = "$want_st" ] && [ "$got" = "$want" ]; then
		ok "$d"
	else
		notok "$d" "got $st $got, want $want_st $want"
	fi
}

# expect "desc" 'js condition over o' curl-args...: a 200 whose body
# satisfies the condition.
expect() {
	d=$1 cond=$2
	shift 2
	call "$@"
	if [ "$st" = 200 ] && [ "$(jx "!!($cond)")" = true ]; then
		ok "$d"
	else
		notok "$d" "got $st $(head -c 600 "$T/body")"
	fi
}

# account handle: its DID in $did and access token in $tok.
account() {
	call -H "$J" -d "{\"handle\":\"$1\",\"email\":\"$1@example.com\",\"password\":\"pw-$1\"}" \
	    "$X/com.atproto.server.createAccount"
	did=$(jx o.did)
	tok=$(jx o.accessJwt)
	[ "$st" = 200 ] && [ -n "$tok" ]
}

if ! account bob.test; then
	notok "createAccount bob" "$st $(cat "$T/body")"
	done_testing
	exit 1
fi
BOB=$did
BT="Authorization: Bearer $tok"
account alice.test || notok "createAccount alice" "$st $(cat "$T/body")"
ALICE=$did
A="Authorization: Bearer $tok"

post() {
	printf '{"repo":"%s","collection":"%s",%s"record":{"$type":"%s","text":"%s","createdAt":"%s"}}' \
	    "$1" "$POST" "$2" "$POST" "$3" "$DATE"
}

#
# createRecord
#
expect "createRecord" "o.uri.startsWith('at://$ALICE/$POST/') &&
    o.cid.startsWith('bafyrei') && o.commit.cid.startsWith('bafyrei') &&
    o.commit.rev.length === 13 && ['valid','unknown'].includes(o.validationStatus) &&
    Object.keys(o).join() === 'uri,cid,commit,validationStatus'" \
    -H "$A" -H "$J" -d "$(post "$ALICE" "" first)" "$R.createRecord"
FIRST=$(jx 'o.uri.split("/")[4]')
FIRSTCID=$(jx o.cid)
expect "createRecord by handle, without \$type" "o.uri.startsWith('at://$ALICE/$POST/')" \
    -H "$A" -H "$J" -d "{\"repo\":\"alice.test\",\"collection\":\"$POST\",\"record\":{\"text\":\"no type\",\"createdAt\":\"$DATE\"}}" \
    "$R.createRecord"
NOTYPE=$(jx 'o.uri.split("/")[4]')
expect "\$type is filled in" "o.value.\$type === '$POST' && o.value.text === 'no type'" \
    "$R.getRecord?repo=$ALICE&collection=$POST&rkey=$NOTYPE"
expect "createRecord of an unknown collection" "o.validationStatus === 'unknown'" \
    -H "$A" -H "$J" -d "{\"repo\":\"$ALICE\",\"collection\":\"com.example.thing\",\"record\":{\"\$type\":\"com.example.thing\",\"a\":1}}" \
    "$R.createRecord"
expect "createRecord with validate false" "o.validationStatus === undefined && o.commit" \
    -H "$A" -H "$J" -d "{\"repo\":\"$ALICE\",\"collection\":\"com.example.thing\",\"validate\":false,\"record\":{\"\$type\":\"com.example.other\"}}" \
    "$R.createRecord"
expect "createRecord with an rkey" "o.uri === 'at://$ALICE/$POST/self'" \
    -H "$A" -H "$J" -d "$(post "$ALICE" '"rkey":"self",' mine)" "$R.createRecord"

refused "createRecord without a token" 401 AuthMissing "Authentication Required" \
    -H "$J" -d "$(post "$ALICE" "" hi)" "$R.createRecord"
refused "createRecord with a garbage token" 400 InvalidToken "Token could not be verified" \
    -H "Authorization: Bearer not-a-jwt" -H "$J" -d "$(post "$ALICE" "" hi)" "$R.createRecord"
refused "createRecord in someone else's repo" 401 AuthenticationRequired "Authentication Required" \
    -H "$A" -H "$J" -d "$(post "$BOB" "" hi)" "$R.createRecord"
refused "createRecord in an unknown repo" 400 InvalidRequest "Could not find repo: nobody.test" \
    -H "$A" -H "$J" -d "$(post nobody.test "" hi)" "$R.createRecord"
refused "createRecord with \$type not the collection" 400 InvalidRequest \
    "Invalid \$type: expected $POST, got app.bsky.feed.like" -H "$A" -H "$J" \
    -d "{\"repo\":\"$ALICE\",\"collection\":\"$POST\",\"record\":{\"\$type\":\"app.bsky.feed.like\",\"subject\":{},\"createdAt\":\"$DATE\"}}" \
    "$R.createRecord"
refused "createRecord with a bad collection" 400 InvalidRequest \
    'Invalid NSID (got \"not a nsid\") at $.collection' -H "$A" -H "$J" \
    -d "{\"repo\":\"$ALICE\",\"collection\":\"not a nsid\",\"record\":{\"\$type\":\"$POST\",\"text\":\"hi\",\"createdAt\":\"$DATE\"}}" \
    "$R.createRecord"
refused "createRecord with a bad rkey" 400 InvalidRequest \
    'Invalid record key (got \"bad rkey!\") at $.rkey' -H "$A" -H "$J" \
    -d "$(post "$ALICE" '"rkey":"bad rkey!",' hi)" "$R.createRecord"
refused "createRecord of an unknown lexicon with validate true" 400 InvalidRequest \
    "Unknown lexicon type: com.example.unknownThing" -H "$A" -H "$J" \
    -d "{\"repo\":\"$ALICE\",\"collection\":\"com.example.unknownThing\",\"validate\":true,\"record\":{\"\$type\":\"com.example.unknownThing\",\"a\":1}}" \
    "$R.createRecord"
# Lexicon validation (the frontend loads the built-in schemas), in
# bob's repo so that a failure here leaves alice's listings alone.
expect "createRecord of a known lexicon is valid" "o.validationStatus === 'valid'" \
    -H "$BT" -H "$J" -d "$(post "$BOB" '"rkey":"valid1",' checked)" "$R.createRecord"
refused "createRecord with a number for text" 400 InvalidRequest \
    "Invalid $POST record: Expected string value type (got 42) at \$.record.text" \
    -H "$BT" -H "$J" -d "{\"repo\":\"$BOB\",\"collection\":\"$POST\",\"record\":{\"\$type\":\"$POST\",\"text\":42,\"createdAt\":\"$DATE\"}}" \
    "$R.createRecord"
refused "createRecord without createdAt" 400 InvalidRequest \
    "Invalid $POST record: Missing required key \\\"createdAt\\\" at \$.record" \
    -H "$BT" -H "$J" -d "{\"repo\":\"$BOB\",\"collection\":\"$POST\",\"record\":{\"\$type\":\"$POST\",\"text\":\"hi\"}}" \
    "$R.createRecord"
refused "applyWrites with an invalid record" 400 InvalidRequest \
    "Invalid $POST record: Expected string value type (got 42) at \$.writes[0].value.text" \
    -H "$BT" -H "$J" -d "{\"repo\":\"$BOB\",\"writes\":[{\"\$type\":\"com.atproto.repo.applyWrites#create\",\"collection\":\"$POST\",\"value\":{\"\$type\":\"$POST\",\"text\":42,\"createdAt\":\"$DATE\"}}]}" \
    "$R.applyWrites"
expect "validate false stores an invalid record" "o.validationStatus === undefined" \
    -H "$BT" -H "$J" -d "{\"repo\":\"$BOB\",\"collection\":\"$POST\",\"rkey\":\"unchecked\",\"validate\":false,\"record\":{\"\$type\":\"$POST\",\"text\":42}}" \
    "$R.createRecord"
refused "createRecord without a record" 400 InvalidRequest 'Missing required key \"record\" at $' \
    -H "$A" -H "$J" -d "{\"repo\":\"$ALICE\",\"collection\":\"$POST\"}" "$R.createRecord"
refused "createRecord with a record that is not an object" 400 InvalidRequest \
    'Expected object value type (got \"x\") at $.record' \
    -H "$A" -H "$J" -d "{\"repo\":\"$ALICE\",\"collection\":\"$POST\",\"record\":\"x\"}" "$R.createRecord"
# The reference answers 500 here; a clear 400 is deliberate (pdsd.8).
refused "createRecord over an existing rkey" 400 InvalidRequest \
    "Record already exists: $POST/self" -H "$A" -H "$J" \
    -d "$(post "$ALICE" '"rkey":"self",' again)" "$R.createRecord"
refused "createRecord sent as text/plain" 400 InvalidRequest \
    "Wrong request encoding (Content-Type): text/plain" \
    -H "$A" -H 'Content-Type: text/plain' -d "$(post "$ALICE" "" hi)" "$R.createRecord"
call -H "$A" -H "$J" -d '{"repo": "x", bad}' "$R.createRecord"
[ "$st" = 400 ] && grep -q '"error":"SyntaxError"' "$T/body" &&
    ok "createRecord with malformed JSON" || notok "malformed JSON" "$st $(cat "$T/body")"
"$NODE" -e 'process.stdout.write(JSON.stringify({repo:process.argv[1],
    collection:"app.bsky.feed.post",record:{$type:"app.bsky.feed.post",
    text:"x".repeat(1100000),createdAt:process.argv[2]}}))' "$ALICE" "$DATE" >"$T/big.json"
refused "createRecord over 1,000,000 bytes" 413 PayloadTooLargeError "request entity too large" \
    -H "$A" -H "$J" --data-binary "@$T/big.json" "$R.createRecord"
refused "GET on createRecord" 400 InvalidRequest "Incorrect HTTP method (GET) expected POST" \
    "$R.createRecord?repo=$ALICE"
refused "POST on getRecord" 400 InvalidRequest "Incorrect HTTP method (POST) expected GET" \
    -H "$J" -d '{}' "$R.getRecord"

#
# getRecord
#
expect "getRecord" "o.uri === 'at://$ALICE/$POST/$FIRST' && o.cid === '$FIRSTCID' &&
    JSON.stringify(o.value) === '{\"text\":\"first\",\"\$type\":\"$POST\",\"createdAt\":\"$DATE\"}'" \
    "$R.getRecord?repo=$ALICE&collection=$POST&rkey=$FIRST"
expect "getRecord by handle with its cid" "o.cid === '$FIRSTCID'" \
    "$R.getRecord?repo=alice.test&collection=$POST&rkey=$FIRST&cid=$FIRSTCID"
refused "getRecord with another cid" 400 RecordNotFound \
    "Could not locate record: at://$ALICE/$POST/$FIRST" \
    "$R.getRecord?repo=$ALICE&collection=$POST&rkey=$FIRST&cid=bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
refused "getRecord of a missing record" 400 RecordNotFound \
    "Could not locate record: at://$ALICE/$POST/3zzzzzzzzzzzz" \
    "$R.getRecord?repo=$ALICE&collection=$POST&rkey=3zzzzzzzzzzzz"
refused "getRecord without rkey" 400 InvalidRequest \
    'Invalid com.atproto.repo.getRecord params: Missing required key \"rkey\"' \
    "$R.getRecord?repo=$ALICE&collection=$POST"
refused "getRecord in an unknown repo" 400 InvalidRequest "Could not locate record" \
    "$R.getRecord?repo=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa&collection=$POST&rkey=$FIRST"
refused "getRecord with a bad collection" 400 InvalidRequest \
    'Invalid com.atproto.repo.getRecord params: Invalid NSID (got \"x y\")' \
    "$R.getRecord?repo=$ALICE&collection=x+y&rkey=$FIRST"

#
# putRecord
#
HEAD=$(curl -sS "$S.getLatestCommit?did=$ALICE")
expect "putRecord replaces" "o.uri === 'at://$ALICE/$POST/$FIRST' && o.cid !== '$FIRSTCID' && o.commit.rev" \
    -H "$A" -H "$J" -d "$(post "$ALICE" "\"rkey\":\"$FIRST\",\"swapRecord\":\"$FIRSTCID\"," edited)" \
    "$R.putRecord"
EDITED=$(jx o.cid)
expect "putRecord of the same record makes no commit" "o.cid === '$EDITED' && o.commit === undefined" \
    -H "$A" -H "$J" -d "$(post "$ALICE" "\"rkey\":\"$FIRST\"," edited)" "$R.putRecord"
expect "putRecord creates with swapRecord null" "o.uri === 'at://$ALICE/$POST/new1'" \
    -H "$A" -H "$J" -d "$(post "$ALICE" '"rkey":"new1","swapRecord":null,' fresh)" "$R.putRecord"
HEAD=$(curl -sS "$S.getLatestCommit?did=$ALICE")
refused "putRecord with a stale swapRecord" 400 InvalidSwap "Record was at $EDITED" \
    -H "$A" -H "$J" -d "$(post "$ALICE" "\"rkey\":\"$FIRST\",\"swapRecord\":\"$FIRSTCID\"," x)" \
    "$R.putRecord"
refused "putRecord with swapRecord null over a record" 400 InvalidSwap "Record was at $EDITED" \
    -H "$A" -H "$J" -d "$(post "$ALICE" "\"rkey\":\"$FIRST\",\"swapRecord\":null," x)" \
    "$R.putRecord"
refused "createRecord with a stale swapCommit" 400 InvalidSwap \
    "Commit was at $(echo "$HEAD" | sed 's/.*"cid":"\([a-z0-9]*\)".*/\1/')" \
    -H "$A" -H "$J" -d "$(post "$ALICE" '"swapCommit":"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",' x)" \
    "$R.createRecord"
refused "putRecord without rkey" 400 InvalidRequest 'Missing required key \"rkey\" at $' \
    -H "$A" -H "$J" -d "$(post "$ALICE" "" x)" "$R.putRecord"
[ "$(curl -sS "$S.getLatestCommit?did=$ALICE")" = "$HEAD" ] &&
    ok "refused writes change nothing" || notok "refused writes changed the head"

#
# deleteRecord
#
expect "deleteRecord" "o.commit.cid && o.commit.rev" \
    -H "$A" -H "$J" -d "{\"repo\":\"$ALICE\",\"collection\":\"$POST\",\"rkey\":\"new1\"}" \
    "$R.deleteRecord"
refused "deleted record is gone" 400 RecordNotFound \
    "Could not locate record: at://$ALICE/$POST/new1" \
    "$R.getRecord?repo=$ALICE&collection=$POST&rkey=new1"
HEAD=$(curl -sS "$S.getLatestCommit?did=$ALICE")
call -H "$A" -H "$J" -d "{\"repo\":\"$ALICE\",\"collection\":\"$POST\",\"rkey\":\"3zzzzzzzzzzz2\"}" \
    "$R.deleteRecord"
[ "$st" = 200 ] && [ "$(cat "$T/body")" = '{}' ] &&
    [ "$(curl -sS "$S.getLatestCommit?did=$ALICE")" = "$HEAD" ] &&
    ok "deleteRecord of a missing record: {} and no commit" ||
    notok "deleteRecord missing" "$st $(cat "$T/body")"
refused "deleteRecord in someone else's repo" 401 AuthenticationRequired "Authentication Required" \
    -H "$A" -H "$J" -d "{\"repo\":\"$BOB\",\"collection\":\"$POST\",\"rkey\":\"x\"}" \
    "$R.deleteRecord"

#
# applyWrites
#
AW=com.atproto.repo.applyWrites
expect "applyWrites" "o.commit.cid && o.results.length === 3 &&
    o.results[0].\$type === '$AW#createResult' && o.results[0].uri.startsWith('at://$ALICE/$POST/') &&
    o.results[1].uri === 'at://$ALICE/$POST/3aaaaaaaaaaa2' &&
    o.results[2].\$type === '$AW#deleteResult' && Object.keys(o.results[2]).length === 1" \
    -H "$A" -H "$J" -d "{\"repo\":\"$ALICE\",\"writes\":[
	{\"\$type\":\"$AW#create\",\"collection\":\"$POST\",\"value\":{\"\$type\":\"$POST\",\"text\":\"a\",\"createdAt\":\"$DATE\"}},
	{\"\$type\":\"$AW#create\",\"collection\":\"$POST\",\"rkey\":\"3aaaaaaaaaaa2\",\"value\":{\"\$type\":\"$POST\",\"text\":\"b\",\"createdAt\":\"$DATE\"}},
	{\"\$type\":\"$AW#delete\",\"collection\":\"$POST\",\"rkey\":\"$NOTYPE\"}]}" \
    "$R.applyWrites"
LATEST=$(jx o.commit.cid)
LATESTREV=$(jx o.commit.rev)
expect "applyWrites update" "o.results[0].\$type === '$AW#updateResult' && o.results[0].cid" \
    -H "$A" -H "$J" -d "{\"repo\":\"$ALICE\",\"writes\":[
	{\"\$type\":\"$AW#update\",\"collection\":\"$POST\",\"rkey\":\"3aaaaaaaaaaa2\",\"value\":{\"\$type\":\"$POST\",\"text\":\"b2\",\"createdAt\":\"$DATE\"}}]}" \
    "$R.applyWrites"
LATEST=$(jx o.commit.cid)
LATESTREV=$(jx o.commit.rev)
"$NODE" -e 'const w=[];for(let i=0;i<201;i++)w.push({$type:"com.atproto.repo.applyWrites#create",
    collection:"app.bsky.feed.post",value:{$type:"app.bsky.feed.post",text:"hi",createdAt:process.argv[2]}});
    process.stdout.write(JSON.stringify({repo:process.argv[1],writes:w}))' "$ALICE" "$DATE" >"$T/201.json"
refused "applyWrites with 201 writes" 400 InvalidRequest "Too many writes. Max: 200" \
    -H "$A" -H "$J" --data-binary "@$T/201.json" "$R.applyWrites"
refused "applyWrites is all or nothing" 400 InvalidRequest "Could not find record: $POST/nope" \
    -H "$A" -H "$J" -d "{\"repo\":\"$ALICE\",\"writes\":[
	{\"\$type\":\"$AW#create\",\"collection\":\"$POST\",\"rkey\":\"partial\",\"value\":{\"\$type\":\"$POST\",\"text\":\"a\",\"createdAt\":\"$DATE\"}},
	{\"\$type\":\"$AW#delete\",\"collection\":\"$POST\",\"rkey\":\"nope\"}]}" \
    "$R.applyWrites"
refused "... and wrote none of it" 400 RecordNotFound \
    "Could not locate record: at://$ALICE/$POST/partial" \
    "$R.getRecord?repo=$ALICE&collection=$POST&rkey=partial"
refused "applyWrites with an unknown action" 400 InvalidRequest \
    "Expected one of \\\"$AW#create\\\", \\\"$AW#update\\\" or \\\"$AW#delete\\\" (got \\\"$AW#move\\\") at \$.writes[0].\$type" \
    -H "$A" -H "$J" -d "{\"repo\":\"$ALICE\",\"writes\":[{\"\$type\":\"$AW#move\",\"collection\":\"$POST\",\"rkey\":\"x\"}]}" \
    "$R.applyWrites"

#
# listRecords, describeRepo
#
# Records of $POST now: self, 3aaaaaaaaaaa2, $FIRST and the applyWrites TID.
expect "listRecords newest first, limit 2" "o.records.length === 2 &&
    o.records[0].uri === 'at://$ALICE/$POST/self' &&
    o.records[0].value.text === 'mine' && o.cursor === o.records[1].uri.split('/')[4] &&
    o.records[0].uri.split('/')[4] > o.records[1].uri.split('/')[4]" \
    "$R.listRecords?repo=$ALICE&collection=$POST&limit=2"
C=$(jx o.cursor)
expect "listRecords after the cursor" "o.records.length === 2 &&
    o.records[1].uri === 'at://$ALICE/$POST/3aaaaaaaaaaa2' && o.records[0].uri.split('/')[4] < '$C'" \
    "$R.listRecords?repo=$ALICE&collection=$POST&limit=2&cursor=$C"
expect "listRecords reversed" "o.records.length === 4 &&
    o.records[0].uri === 'at://$ALICE/$POST/3aaaaaaaaaaa2' && o.records[3].uri.endsWith('/self') &&
    o.cursor === 'self'" "$R.listRecords?repo=alice.test&collection=$POST&reverse=true"
expect "listRecords reversed after a cursor" "o.records.length === 3 &&
    !o.records.some(r => r.uri.endsWith('/3aaaaaaaaaaa2'))" \
    "$R.listRecords?repo=$ALICE&collection=$POST&reverse=true&cursor=3aaaaaaaaaaa2"
expect "listRecords of an empty collection" "o.records.length === 0 && o.cursor === undefined" \
    "$R.listRecords?repo=$ALICE&collection=app.bsky.feed.like"
refused "listRecords with limit 1000" 400 InvalidRequest \
    "Invalid com.atproto.repo.listRecords params: integer too big (maximum 100, got 1000)" \
    "$R.listRecords?repo=$ALICE&collection=$POST&limit=1000"
refused "listRecords with limit 0" 400 InvalidRequest \
    "Invalid com.atproto.repo.listRecords params: integer too small (minimum 1, got 0)" \
    "$R.listRecords?repo=$ALICE&collection=$POST&limit=0"
refused "listRecords of an unknown repo" 400 InvalidRequest "Could not find repo: nobody.test" \
    "$R.listRecords?repo=nobody.test&collection=$POST"
expect "describeRepo" "o.handle === 'alice.test' && o.did === '$ALICE' &&
    o.didDoc.id === '$ALICE' && o.handleIsCorrect === true &&
    JSON.stringify(o.collections) === '[\"$POST\",\"com.example.thing\"]' &&
    Object.keys(o).join() === 'handle,did,didDoc,collections,handleIsCorrect'" \
    "$R.describeRepo?repo=alice.test"
refused "describeRepo of an unknown handle" 400 RepoNotFound \
    "Could not find repo for DID: nobody.test" "$R.describeRepo?repo=nobody.test"

#
# sync
#
expect "getLatestCommit" "o.cid === '$LATEST' && o.rev === '$LATESTREV'" \
    "$S.getLatestCommit?did=$ALICE"
expect "getRepoStatus" "JSON.stringify(o) === '{\"did\":\"$ALICE\",\"active\":true,\"rev\":\"$LATESTREV\"}'" \
    "$S.getRepoStatus?did=$ALICE"
refused "getRepoStatus of an unknown DID" 400 RepoNotFound \
    "Could not find repo for DID: did:plc:aaaaaaaaaaaaaaaaaaaaaaaa" \
    "$S.getRepoStatus?did=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
expect "listRepos" "o.repos.length === 2 && o.repos.some(r => r.did === '$ALICE' &&
    r.head === '$LATEST' && r.rev === '$LATESTREV' && r.active === true)" "$S.listRepos"
expect "listRepos limit 1" "o.repos.length === 1 && o.cursor === o.repos[0].did" \
    "$S.listRepos?limit=1"
C=$(jx o.cursor)
expect "listRepos after the cursor" "o.repos.length === 1 && o.repos[0].did !== '$C'" \
    "$S.listRepos?limit=1&cursor=$C"
refused "listRepos with limit 1001" 400 InvalidRequest \
    "Invalid com.atproto.sync.listRepos params: integer too big (maximum 1000, got 1001)" \
    "$S.listRepos?limit=1001"

# carinfo file: "<root> <nblocks>" as read by @atproto/repo.
carinfo() {
	(cd "$top/tests/node" && "$NODE" --input-type=module -e '
	    import { readCar } from "@atproto/repo"
	    import { readFileSync } from "fs"
	    const c = await readCar(readFileSync(process.argv[1]))
	    console.log(`${c.roots.map(String).join(",")} ${c.blocks.size}`)' "$1") 2>&1
}

# Over one export step (256 KiB) of blocks, so the CAR leaves in chunks.
for i in 1 2 3; do
	"$NODE" -e 'process.stdout.write(JSON.stringify({repo:process.argv[1],
	    collection:"com.example.big",record:{t:"x".repeat(120000)+process.argv[2]}}))' \
	    "$ALICE" "$i" >"$T/big.json"
	call -H "$A" -H "$J" --data-binary "@$T/big.json" "$R.createRecord"
	[ "$st" = 200 ] || notok "big record $i" "$st $(cat "$T/body")"
done
LATEST=$(jx o.commit.cid)
st=$(curl -sS -o "$T/repo.car" -D "$T/hdr" -w '%{http_code}' "$S.getRepo?did=$ALICE")
info=$(carinfo "$T/repo.car")
all=$(sqlite3 "$T/data/pdsd.db" "SELECT count(*) FROM repo_block WHERE did = '$ALICE'")
[ "$st" = 200 ] && grep -qi '^content-type: application/vnd.ipld.car' "$T/hdr" &&
    [ "$info" = "$LATEST $all" ] && ok "getRepo: a CAR of every block, rooted at the head" ||
    notok "getRepo" "$st $info (want $LATEST $all)"
grep -qi '^transfer-encoding: chunked' "$T/hdr" && ok "getRepo streams (chunked)" ||
    notok "getRepo chunked" "$(cat "$T/hdr")"
since=$(echo "$HEAD" | sed 's/.*"rev":"\([a-z0-9]*\)".*/\1/')
curl -sS -o "$T/since.car" "$S.getRepo?did=$ALICE&since=$since"
info=$(carinfo "$T/since.car")
later=$(sqlite3 "$T/data/pdsd.db" "SELECT count(*) FROM repo_block
    WHERE did = '$ALICE' AND rev > '$since'")
case $info in
"$LATEST "*) n=${info#* }
	[ "$n" -gt 0 ] && [ "$n" -lt "$all" ] && [ "$n" = "$later" ] &&
	    ok "getRepo since: exactly the blocks of later commits" ||
	    notok "getRepo since" "$info of $all, want $later" ;;
*) notok "getRepo since" "$info" ;;
esac
refused "getRepo of an unknown DID" 400 RepoNotFound \
    "Could not find repo for DID: did:plc:aaaaaaaaaaaaaaaaaaaaaaaa" \
    "$S.getRepo?did=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
refused "getRepo of a bad DID" 400 InvalidRequest \
    'Invalid com.atproto.sync.getRepo params: Invalid DID (got \"not-a-did\")' \
    "$S.getRepo?did=not-a-did"
refused "getRepo with a bad since" 400 InvalidRequest \
    'Invalid com.atproto.sync.getRepo params: Invalid TID string (got \"yesterday\")' \
    "$S.getRepo?did=$ALICE&since=yesterday"

st=$(curl -sS -o "$T/rec.car" -w '%{http_code}' "$S.getRecord?did=$ALICE&collection=$POST&rkey=self")
info=$(carinfo "$T/rec.car")
case $st/$info in 200/"$LATEST "*) ok "sync.getRecord: a CAR rooted at the head" ;;
*) notok "sync.getRecord" "$st $info" ;; esac
refused "sync.getRecord without rkey" 400 InvalidRequest \
    'Invalid com.atproto.sync.getRecord params: Missing required key \"rkey\"' \
    "$S.getRecord?did=$ALICE&collection=$POST"

st=$(curl -sS -o "$T/blocks.car" -w '%{http_code}' "$S.getBlocks?did=$ALICE&cids=$LATEST&cids=$EDITED")
info=$(carinfo "$T/blocks.car")
[ "$st" = 200 ] && [ "$info" = " 2" ] && ok "getBlocks: the blocks, no root" ||
    notok "getBlocks" "$st $info"
refused "getBlocks of a missing block" 400 InvalidRequest \
    "Could not find cids: bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm" \
    "$S.getBlocks?did=$ALICE&cids=$LATEST&cids=bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"
refused "getBlocks without cids" 400 InvalidRequest \
    'Invalid com.atproto.sync.getBlocks params: Missing required key \"cids\"' \
    "$S.getBlocks?did=$ALICE"

#
# The Lexicon step of the router: every method's parameters and JSON
# input against its schema, in the reference's order (parameters, then
# authentication, then input), with the reference's words.
#
refused "lexicon: a repeated scalar parameter" 400 InvalidRequest \
    'Invalid com.atproto.repo.listRecords params: Expected integer value type (got [5, 6])' \
    "$R.listRecords?repo=$ALICE&collection=$POST&limit=5&limit=6"
refused "lexicon: a boolean parameter is true or false" 400 InvalidRequest \
    'Invalid com.atproto.repo.listRecords params: Expected boolean value type (got \"TRUE\")' \
    "$R.listRecords?repo=$ALICE&collection=$POST&reverse=TRUE"
refused "lexicon: an empty parameter is an absent one" 400 InvalidRequest \
    'Invalid com.atproto.repo.getRecord params: Missing required key \"rkey\"' \
    "$R.getRecord?repo=$ALICE&collection=$POST&rkey="
refused "lexicon: parameters before authentication" 400 InvalidRequest \
    'Invalid com.atproto.server.getServiceAuth params: Missing required key \"aud\"' \
    "$X/com.atproto.server.getServiceAuth"
refused "lexicon: authentication before input" 401 AuthMissing \
    "Authentication Required" -H "$J" -d '{"repo":1}' "$R.createRecord"
refused "lexicon: input after authentication" 400 InvalidRequest \
    'Expected string value type (got 1) at $.repo' \
    -H "$A" -H "$J" -d '{"repo":1,"collection":"a.b.c","record":{}}' \
    "$R.createRecord"
refused "lexicon: nested input" 400 InvalidRequest \
    'Missing required key \"value\" at $.writes[0]' \
    -H "$A" -H "$J" -d "{\"repo\":\"$ALICE\",\"writes\":[{\"\$type\":\"$AW#create\",\"collection\":\"$POST\"}]}" \
    "$R.applyWrites"
call "$R.listRecords?repo=$ALICE&collection=$POST&limit=2&reverse=true&unknown=x&unknown=y"
[ "$st" = 200 ] && ok "lexicon: good and unknown parameters pass" ||
    notok "lexicon: good parameters" "$st $(cat "$T/body")"

#
# The answer text of the record reads, written straight from the stored
# DAG-CBOR: compact, keys in the record's (canonical) order, every
# escape as JSON.stringify writes it, the value as it was sent.
#
TRICKY='{"$type":"com.example.tricky","s":"q\" b\\ s/ nl\n tab\t c\u0001\u001f del\u007f \u00e9\u20ac\ud83d\ude00","n":[0,-1,9007199254740991,-9007199254740991],"z":null,"t":true,"f":false,"l":{"$link":"bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm"},"b":{"$bytes":"AAEC/w"},"e":{},"a":[[],{"k":[1]}],"longerkey":"x"}'
expect "a record with every kind of value" "o.uri === 'at://$ALICE/com.example.tricky/t1'" \
    -H "$A" -H "$J" -d "{\"repo\":\"$ALICE\",\"collection\":\"com.example.tricky\",\"rkey\":\"t1\",\"validate\":false,\"record\":$TRICKY}" \
    "$R.putRecord"
# canon file: the file's text is what JSON.stringify makes of it, and
# its value (or records[0].value) deep-equals $TRICKY but for key order.
canon() {
	"$NODE" -e '
	    const t=require("fs").readFileSync(process.argv[1],"utf8");
	    const o=JSON.parse(t), v=o.records ? o.records[0].value : o.value;
	    const sort=(x)=>Array.isArray(x)?x.map(sort):x&&typeof x==="object"?
	        Object.fromEntries(Object.keys(x).sort().map(k=>[k,sort(x[k])])):x;
	    const want=JSON.parse(process.argv[2]);
	    const order=Object.keys(v).join();
	    console.log(t === JSON.stringify(o) &&
	        JSON.stringify(sort(v)) === JSON.stringify(sort(want)) &&
	        order === "a,b,e,f,l,n,s,t,z,\$type,longerkey")' "$1" "$TRICKY"
}
call "$R.getRecord?repo=$ALICE&collection=com.example.tricky&rkey=t1"
[ "$st" = 200 ] && [ "$(canon "$T/body")" = true ] &&
    ok "getRecord answer text is compact canonical JSON" ||
    notok "getRecord answer text" "$st $(cat "$T/body")"
call "$R.listRecords?repo=$ALICE&collection=com.example.tricky"
[ "$st" = 200 ] && [ "$(canon "$T/body")" = true ] &&
    ok "listRecords answer text is compact canonical JSON" ||
    notok "listRecords answer text" "$st $(cat "$T/body")"

#
# The official client does it all again.
#
(cd "$top/tests/node" && "$NODE" repo.mjs "$URL" carol.test pw-carol-123) >"$T/node.out" 2>&1
nst=$?
while IFS= read -r line; do
	case $line in
	"ok "*) ok "node: ${line#ok * - }" ;;
	"not ok "*) notok "node: ${line#not ok * - }" ;;
	"#"*) echo "$line" ;;
	esac
done <"$T/node.out"
[ $nst = 0 ] && ok "repo.mjs ran to the end" || notok "repo.mjs exit $nst" "$(tail -5 "$T/node.out")"

done_testing
