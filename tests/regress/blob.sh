#!/bin/sh
# Blobs against the real daemon, driven by curl: uploadBlob (streamed,
# content-addressed, MIME sniffed, size limit answered before the body
# is read), records that reference blobs (refused when not uploaded by
# that account or described wrongly), getBlob (headers, bytes, ranges),
# listBlobs, collection of unused blobs after "blob unreferenced
# expiry", listMissingBlobs after an import, and deleteAccount taking
# the account's blobs.  Then tests/node/blob.mjs does it again with
# @atproto/api.
. "$(dirname "$0")/lib.subr"

NODE=$top/tests/node/node_modules/.bin/node
J='Content-Type: application/json'
POST='app.bsky.feed.post'
DATE='2024-01-01T00:00:00.000Z'
MAX=100000
EXPIRY=3
KEYHEX=9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c

write_conf
cat >>"$T/pdsd.conf" <<CONF
blob max size $MAX
blob unreferenced expiry $EXPIRY
CONF
must_start_pdsd
X=$URL/xrpc
R=$X/com.atproto.repo
S=$X/com.atproto.sync
DB=$T/data/pdsd.db
BLOBS=$T/data/blobs

sql() {
	sqlite3 -cmd '.timeout 5000' "$DB" "$@"
}

# header name: its value in the last response.
header() {
	sed -n "s/^$1: //Ip" "$T/head" | tr -d '\r' | head -1
}

# upload token file content-type: the answer in $T/body.
upload() {
	call -H "Authorization: Bearer $1" -H "Content-Type: $3" \
	    --data-binary "@$T/$2" "$R.uploadBlob"
}

if ! account alice.test; then
	notok "createAccount alice" "$st $(cat "$T/body")"
	done_testing
	exit 1
fi
ALICE=$did
AT=$tok
A="Authorization: Bearer $AT"
account bob.test || notok "createAccount bob" "$st $(cat "$T/body")"
BOB=$did
BT=$tok

# files in the blob directory, the temporary one aside.
nfiles() {
	find "$BLOBS" -maxdepth 1 -type f | wc -l
}

#
# uploadBlob
#
mkfile png 89504e470d0a1a0a0000000d49484452 5000
mkfile jpg ffd8ffe000104a464946 3000
mkfile txt 68656c6c6f 300
mkfile big 00 $((MAX + 1))
mkfile max 00 $MAX
PNG=$(rawcid "$T/png")
JPG=$(rawcid "$T/jpg")
TXT=$(rawcid "$T/txt")

expect "uploadBlob answers the blob object" "o.blob.\$type === 'blob' &&
    o.blob.ref.\$link === '$PNG' && o.blob.mimeType === 'image/png' &&
    o.blob.size === 5000 && Object.keys(o.blob).join() === '\$type,ref,mimeType,size'" \
    -H "$A" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/png" "$R.uploadBlob"
cmp -s "$T/png" "$BLOBS/$PNG" && ok "the file is stored under its CID" ||
    notok "stored file" "$(ls -la "$BLOBS")"
[ "$(find "$BLOBS/tmp" -type f | wc -l)" -eq 0 ] &&
    ok "nothing is left in the temporary directory" ||
    notok "tmp not empty" "$(ls -la "$BLOBS/tmp")"
upload "$AT" png image/png
upload "$BT" png image/png
[ "$st" = 200 ] && [ "$(jx o.blob.ref.\$link)" = "$PNG" ] && [ "$(nfiles)" -eq 1 ] &&
    [ "$(sql "SELECT count(*) FROM blob WHERE cid = '$PNG'")" = 2 ] &&
    ok "the same bytes again, and by another account: one file, a row each" ||
    notok "dedup" "$st $(cat "$T/body") files $(nfiles)"

expect "a JPEG sent as image/png is image/jpeg" "o.blob.mimeType === 'image/jpeg' &&
    o.blob.ref.\$link === '$JPG' && o.blob.size === 3000" \
    -H "$A" -H 'Content-Type: image/png' --data-binary "@$T/jpg" "$R.uploadBlob"
expect "unknown bytes keep the client's type, parameters dropped" \
    "o.blob.mimeType === 'text/plain' && o.blob.ref.\$link === '$TXT'" \
    -H "$A" -H 'Content-Type: Text/Plain; charset=utf-8' \
    --data-binary "@$T/txt" "$R.uploadBlob"
expect "a malformed type becomes application/octet-stream" \
    "o.blob.mimeType === 'application/octet-stream'" \
    -H "$A" -H 'Content-Type: nonsense' --data-binary "@$T/txt" "$R.uploadBlob"
expect "exactly the maximum size is taken" "o.blob.size === $MAX" \
    -H "$A" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$T/max" "$R.uploadBlob"

refused "uploadBlob without a token" 401 AuthMissing "Authentication Required" \
    -H 'Content-Type: image/png' --data-binary "@$T/png" "$R.uploadBlob"
refused "uploadBlob of nothing" 400 InvalidRequest \
    "A request body is expected but none was provided" \
    -H "$A" -H 'Content-Type: image/png' -X POST "$R.uploadBlob"
refused "uploadBlob without a Content-Type" 400 InvalidRequest \
    "Request encoding (Content-Type) required but not provided" \
    -H "$A" -H 'Content-Type:' --data-binary "@$T/png" "$R.uploadBlob"
refused "uploadBlob one byte over the limit" 413 PayloadTooLargeError \
    "request entity too large" -H "$A" -H 'Content-Type: image/png' \
    --data-binary "@$T/big" "$R.uploadBlob"
refused "uploadBlob over the limit, chunked" 413 PayloadTooLargeError \
    "request entity too large" -H "$A" -H 'Content-Type: image/png' \
    -H 'Transfer-Encoding: chunked' --data-binary "@$T/big" "$R.uploadBlob"

# A declared length over the limit is answered at once: the head alone
# is sent, and the answer comes without a byte of the body.
"$NODE" -e '
const s = require("net").connect(+process.argv[1], "127.0.0.1", () =>
    s.write("POST /xrpc/com.atproto.repo.uploadBlob HTTP/1.1\r\nHost: x\r\n" +
    "Authorization: Bearer " + process.argv[2] + "\r\nContent-Type: image/png\r\n" +
    "Content-Length: 50000000\r\n\r\n"))
let got = ""
s.on("data", d => { got += d; if (got.includes("}")) { console.log(got.split("\r\n")[0]); process.exit(0) } })
setTimeout(() => { console.log("timeout"); process.exit(1) }, 3000)' "$PORT" "$AT" >"$T/out" 2>&1
grep -q "^HTTP/1.1 413" "$T/out" && ok "413 before the body is read" ||
    notok "early 413" "$(cat "$T/out")"
[ "$(find "$BLOBS/tmp" -type f | wc -l)" -eq 0 ] &&
    [ ! -e "$BLOBS/$(rawcid "$T/big")" ] &&
    ok "a refused upload leaves no file" || notok "refused upload left files" "$(ls -la "$BLOBS" "$BLOBS/tmp")"

#
# Records that reference blobs.
#
# postimg repo cid mime size: a post with an image embed.
postimg() {
	printf '{"repo":"%s","collection":"%s","record":{"$type":"%s","text":"img","createdAt":"%s","embed":{"$type":"app.bsky.embed.images","images":[{"alt":"x","image":{"$type":"blob","ref":{"$link":"%s"},"mimeType":"%s","size":%s}}]}}}' \
	    "$1" "$POST" "$POST" "$DATE" "$2" "$3" "$4"
}
UNKNOWN=bafkreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm
refused "a post with a blob never uploaded" 400 BlobNotFound \
    "Could not find blob: $UNKNOWN" -H "$A" -H "$J" \
    -d "$(postimg "$ALICE" $UNKNOWN image/png 5000)" "$R.createRecord"
upload "$AT" jpg image/jpeg
refused "a post with another account's blob" 400 BlobNotFound \
    "Could not find blob: $JPG" -H "Authorization: Bearer $BT" -H "$J" \
    -d "$(postimg "$BOB" "$JPG" image/jpeg 3000)" "$R.createRecord"
refused "a post that names the wrong type" 400 InvalidMimeType \
    "Referenced Mimetype does not match stored blob. Expected: image/jpeg, Got: image/png" \
    -H "$A" -H "$J" -d "$(postimg "$ALICE" "$JPG" image/png 3000)" "$R.createRecord"
refused "a post that names the wrong size" 400 InvalidSize \
    "Referenced size does not match stored blob. Expected: 3000, Got: 2999" \
    -H "$A" -H "$J" -d "$(postimg "$ALICE" "$JPG" image/jpeg 2999)" "$R.createRecord"
[ "$(sql "SELECT count(*) FROM record WHERE did = '$ALICE'")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM record_blob")" = 0 ] &&
    ok "refused writes left no record and no reference" ||
    notok "refused writes left rows"

upload "$AT" png image/png
expect "a post with its image" "o.uri.startsWith('at://$ALICE/$POST/')" \
    -H "$A" -H "$J" -d "$(postimg "$ALICE" "$PNG" image/png 5000)" "$R.createRecord"
RKEY=$(jx 'o.uri.split("/")[4]')
REV=$(jx o.commit.rev)
[ "$(sql "SELECT cid, collection, rkey FROM record_blob WHERE did = '$ALICE'")" = \
    "$PNG|$POST|$RKEY" ] && [ "$(sql "SELECT used FROM blob WHERE did = '$ALICE' AND cid = '$PNG'")" = 1 ] &&
    ok "the post's blob is marked used with the record" ||
    notok "record_blob" "$(sql "SELECT * FROM record_blob")"

#
# getBlob, listBlobs
#
call "$S.getBlob?did=$ALICE&cid=$PNG"
if [ "$st" = 200 ] && cmp -s "$T/body" "$T/png" &&
    [ "$(header Content-Type)" = image/png ] &&
    [ "$(header Content-Length)" = 5000 ] &&
    [ "$(header Content-Security-Policy)" = "default-src 'none'; sandbox" ] &&
    [ "$(header X-Content-Type-Options)" = nosniff ] &&
    [ "$(header Content-Disposition)" = "attachment; filename=\"$PNG\"" ]; then
	ok "getBlob: the bytes, with their type, length and safety headers"
else
	notok "getBlob" "$st $(cat "$T/head")"
fi
call -I "$S.getBlob?did=$ALICE&cid=$PNG"
[ "$st" = 200 ] && [ "$(header Content-Length)" = 5000 ] &&
    ok "HEAD getBlob: the length, no body" || notok "HEAD" "$st $(cat "$T/head")"
call -H 'Range: bytes=0-7' "$S.getBlob?did=$ALICE&cid=$PNG"
[ "$st" = 206 ] && [ "$(od -An -tx1 "$T/body" | tr -d ' \n')" = 89504e470d0a1a0a ] &&
    [ "$(header Content-Range)" = "bytes 0-7/5000" ] &&
    [ "$(header Content-Length)" = 8 ] &&
    ok "getBlob with a range" || notok "range" "$st $(cat "$T/head")"
call -H 'Range: bytes=-10' "$S.getBlob?did=$ALICE&cid=$PNG"
[ "$st" = 206 ] && tail -c 10 "$T/png" | cmp -s - "$T/body" &&
    [ "$(header Content-Range)" = "bytes 4990-4999/5000" ] &&
    ok "getBlob with a suffix range" || notok "suffix range" "$st $(cat "$T/head")"
call -H 'Range: bytes=5000-' "$S.getBlob?did=$ALICE&cid=$PNG"
[ "$st" = 416 ] && [ "$(header Content-Range)" = "bytes */5000" ] &&
    ok "a range past the end: 416" || notok "416" "$st $(cat "$T/head")"
refused "getBlob of a blob not here" 400 BlobNotFound "Blob not found" \
    "$S.getBlob?did=$ALICE&cid=$UNKNOWN"
refused "getBlob of another account's blob" 400 BlobNotFound "Blob not found" \
    "$S.getBlob?did=$BOB&cid=$JPG"
refused "getBlob of an unknown repo" 400 RepoNotFound \
    "Could not find repo for DID: did:plc:zzzzzzzzzzzzzzzzzzzzzzzz" \
    "$S.getBlob?did=did:plc:zzzzzzzzzzzzzzzzzzzzzzzz&cid=$PNG"
refused "getBlob with a bad CID" 400 InvalidRequest \
    'Invalid com.atproto.sync.getBlob params: Invalid CID string (got \"nope\")' \
    "$S.getBlob?did=$ALICE&cid=nope"

expect "listBlobs: the blobs the records use" "JSON.stringify(o.cids) === '[\"$PNG\"]' &&
    o.cursor === '$PNG'" "$S.listBlobs?did=$ALICE"
expect "listBlobs since the post's rev: none" "o.cids.length === 0 && !o.cursor" \
    "$S.listBlobs?did=$ALICE&since=$REV"
expect "listBlobs after the cursor: none" "o.cids.length === 0" \
    "$S.listBlobs?did=$ALICE&cursor=$PNG"
refused "listBlobs of an unknown repo" 400 RepoNotFound \
    "Could not find repo for DID: did:plc:zzzzzzzzzzzzzzzzzzzzzzzz" \
    "$S.listBlobs?did=did:plc:zzzzzzzzzzzzzzzzzzzzzzzz"

#
# Collection: unused blobs go after the expiry, used ones stay, and a
# deleted post's blob follows.
#
sleep $((EXPIRY * 2 + 1))
[ -f "$BLOBS/$PNG" ] && [ ! -e "$BLOBS/$JPG" ] && [ ! -e "$BLOBS/$TXT" ] &&
    [ "$(sql "SELECT did FROM blob")" = "$ALICE" ] &&
    ok "unused blobs are collected, the used one stays" ||
    notok "collection" "$(ls "$BLOBS"; sql "SELECT did, cid, used FROM blob")"
refused "a collected blob is gone" 400 BlobNotFound "Blob not found" \
    "$S.getBlob?did=$ALICE&cid=$JPG"
call -H "$A" -H "$J" -d "{\"repo\":\"$ALICE\",\"collection\":\"$POST\",\"rkey\":\"$RKEY\"}" \
    "$R.deleteRecord"
[ "$st" = 200 ] && [ "$(sql "SELECT count(*) FROM record_blob")" = 0 ] &&
    [ -f "$BLOBS/$PNG" ] &&
    ok "deleting the post releases its blob, kept for now" ||
    notok "release" "$st $(cat "$T/body")"
sleep $((EXPIRY * 2 + 1))
[ ! -e "$BLOBS/$PNG" ] && [ "$(sql "SELECT count(*) FROM blob")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM blob_orphan")" = 0 ] &&
    ok "a released blob is collected after the expiry" ||
    notok "released collection" "$(ls "$BLOBS"; sql "SELECT * FROM blob")"

#
# Import, then listMissingBlobs empties as the blobs arrive.
#
account carol.test || notok "createAccount carol" "$st $(cat "$T/body")"
CAROL=$did
CT="Authorization: Bearer $tok"
echo "$KEYHEX" >"$T/key"
mkfile m1 ffd8ffe0 1000
mkfile m2 89504e470d0a1a0a 2000
M1=$(rawcid "$T/m1")
M2=$(rawcid "$T/m2")
mkdir -p "$T/repo/$POST" "$T/repo/app.bsky.actor.profile"
printf '{"did": "%s"}\n' "$CAROL" >"$T/repo/_commit.json"
printf '{"$type":"%s","text":"a","createdAt":"%s","embed":{"$type":"app.bsky.embed.images","images":[{"alt":"","image":{"$type":"blob","ref":{"$link":"%s"},"mimeType":"image/jpeg","size":1000}}]}}' \
    "$POST" "$DATE" "$M1" >"$T/repo/$POST/3kaaaaaaaaaa2.json"
printf '{"$type":"app.bsky.actor.profile","displayName":"c","avatar":{"$type":"blob","ref":{"$link":"%s"},"mimeType":"image/png","size":2000}}' \
    "$M2" >"$T/repo/app.bsky.actor.profile/self.json"
"$PDSCTL" pack "$T/repo" "$T/carol.car" -k "$T/key" >"$T/out" 2>&1 &&
    "$PDSCTL" -s "$SOCK" import --did "$CAROL" "$T/carol.car" >>"$T/out" 2>&1 &&
    ok "import of a repo whose records name blobs" || notok "import" "$(cat "$T/out")"
WANT="[{\"cid\":\"$M1\",\"recordUri\":\"at://$CAROL/$POST/3kaaaaaaaaaa2\"},{\"cid\":\"$M2\",\"recordUri\":\"at://$CAROL/app.bsky.actor.profile/self\"}]"
[ "$M1" \> "$M2" ] && WANT="[{\"cid\":\"$M2\",\"recordUri\":\"at://$CAROL/app.bsky.actor.profile/self\"},{\"cid\":\"$M1\",\"recordUri\":\"at://$CAROL/$POST/3kaaaaaaaaaa2\"}]"
expect "listMissingBlobs after the import: both, by CID" \
    "JSON.stringify(o.blobs) === '$WANT'" -H "$CT" "$R.listMissingBlobs"
FIRST=$(jx 'o.blobs[0].cid')
SECOND=$(jx 'o.blobs[1].cid')
expect "listMissingBlobs pages" "o.blobs.length === 1 && o.cursor === '$FIRST'" \
    -H "$CT" "$R.listMissingBlobs?limit=1"
expect "listMissingBlobs after the cursor" "o.blobs.length === 1 &&
    o.blobs[0].cid === '$SECOND'" -H "$CT" "$R.listMissingBlobs?limit=1&cursor=$FIRST"
refused "listMissingBlobs needs a token" 401 AuthMissing "Authentication Required" \
    "$R.listMissingBlobs"
expect "listBlobs names missing ones too, as the reference does" \
    "o.cids.length === 2" "$S.listBlobs?did=$CAROL"
upload "$tok" m1 image/jpeg
expect "one uploaded: one missing" "o.blobs.length === 1 && o.blobs[0].cid === '$M2'" \
    -H "$CT" "$R.listMissingBlobs"
upload "$tok" m2 image/png
expect "both uploaded: none missing" "o.blobs.length === 0 && !o.cursor" \
    -H "$CT" "$R.listMissingBlobs"
sleep $((EXPIRY * 2 + 1))
[ -f "$BLOBS/$M1" ] && [ -f "$BLOBS/$M2" ] &&
    ok "blobs the imported records name are kept" || notok "imported kept" "$(ls "$BLOBS")"

#
# deleteAccount takes the account's blobs.
#
exp=$(($(date +%s) + 900))
sql "INSERT OR REPLACE INTO account_delete_token (did, token, expires_at)
    VALUES ('$CAROL', 'ABCDE-FGH23', $exp)"
call -H "$J" -d "{\"did\":\"$CAROL\",\"password\":\"pw-carol.test\",\"token\":\"ABCDE-FGH23\"}" \
    "$X/com.atproto.server.deleteAccount"
[ "$st" = 200 ] && [ "$(sql "SELECT count(*) FROM blob WHERE did = '$CAROL'")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM record_blob WHERE did = '$CAROL'")" = 0 ] &&
    ok "deleteAccount drops the account's blob rows" || notok "deleteAccount" "$st $(cat "$T/body")"
sleep $((EXPIRY + 1))
[ ! -e "$BLOBS/$M1" ] && [ ! -e "$BLOBS/$M2" ] &&
    ok "and then its files" || notok "files after deleteAccount" "$(ls "$BLOBS")"

#
# The official client.
#
node_tap blob.mjs blob.mjs "$URL" dave.test pw-dave-123

kill "$PID" 2>/dev/null
wait_gone "$PID" 50
done_testing
