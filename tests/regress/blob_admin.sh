#!/bin/sh
# Blobs and the operator: the quota ("blob quota") and what an account
# holds in "pdsctl account show"; "pdsctl blob gc" collecting now what
# the grace of "blob unreferenced expiry" (an hour here, so the periodic
# collection never gets there first) or -e lets go, and the files of a
# deleted account; an upload cut by kill -9 leaves no file under a CID
# and its temporary file goes at the next start; an import (pdsctl
# import) then uploadBlob of each missing blob with @atproto/api.
. "$(dirname "$0")/lib.subr"

NODE=$top/tests/node/node_modules/.bin/node
J='Content-Type: application/json'
KEYHEX=9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c
POST='app.bsky.feed.post'
DATE='2024-01-01T00:00:00.000Z'

write_conf
cat >>"$T/pdsd.conf" <<CONF
blob max size 100000
blob unreferenced expiry 3600
blob quota 60000
CONF
must_start_pdsd
X=$URL/xrpc
R=$X/com.atproto.repo
S=$X/com.atproto.sync
BLOBS=$T/data/blobs

ctl() {
	"$PDSCTL" -s "$SOCK" "$@" >"$T/out" 2>&1
}

# files under CID names.
nfiles() {
	find "$BLOBS" -maxdepth 1 -type f | wc -l
}

#
# The client's uploads against the quota; the post is deleted at the end.
#
node_tap flow blob_flow.mjs "$URL" erin.test pw-erin-123 uploads "$T/erin.json"
j() {
	"$NODE" -p "JSON.parse(require('fs').readFileSync('$T/erin.json')).$1"
}
ERIN=$(j did)
PHOTO=$(j photo)
AVATAR=$(j avatar)
JPEG=$(j jpeg)
SMALL=$(j small)

# photo 30000 + avatar 2000 + jpeg 3000 + small 100
if ctl account show erin.test && grep -qx "blobs: 4, 35100 bytes of a quota of 60000 (58.5%)" "$T/out"; then
	ok "account show: the blobs held, against the quota"
else
	notok "account show" "$(cat "$T/out")"
fi
ctl account show -j erin.test
cp "$T/out" "$T/body"
[ "$(jx 'o.blobs + "," + o.blobBytes + "," + o.blobQuota')" = "4,35100,60000" ] &&
    ok "account show -j: blobs, blobBytes, blobQuota" || notok "show -j" "$(cat "$T/out")"

#
# pdsctl blob gc
#
n0=$(nfiles)
if ctl blob gc && grep -qx "collected 0 unused blobs (0 bytes); removed 0 files (0 bytes)" "$T/out" &&
    [ -f "$BLOBS/$PHOTO" ] && [ "$(nfiles)" -eq "$n0" ]; then
	ok "blob gc within the grace: nothing goes"
else
	notok "blob gc within the grace" "$(cat "$T/out"; ls "$BLOBS")"
fi
# The photo (released by the post's deletion), the mismatched JPEG and
# the small one were never or are no longer used; the avatar is.  Idle
# for longer than 0 s: a second after the post's deletion, at least.
sleep 1
if ctl blob gc -e 0 &&
    grep -qx "collected 3 unused blobs (33100 bytes); removed 3 files (33100 bytes)" "$T/out" &&
    [ ! -e "$BLOBS/$PHOTO" ] && [ ! -e "$BLOBS/$JPEG" ] && [ ! -e "$BLOBS/$SMALL" ] &&
    [ -f "$BLOBS/$AVATAR" ]; then
	ok "blob gc -e 0: the unused blobs and their files go, the avatar stays"
else
	notok "blob gc -e 0" "$(cat "$T/out"; ls "$BLOBS")"
fi
refused "getBlob of a collected blob" 400 BlobNotFound "Blob not found" \
    "$S.getBlob?did=$ERIN&cid=$PHOTO"
call "$S.getBlob?did=$ERIN&cid=$AVATAR"
[ "$st" = 200 ] && ok "the avatar is still served" || notok "avatar" "$st"
ctl account show erin.test
grep -qx "blobs: 1, 2000 bytes of a quota of 60000 (3.3%)" "$T/out" &&
    ok "account show after the collection" || notok "show after gc" "$(cat "$T/out")"
ctl blob gc -j
cp "$T/out" "$T/body"
[ "$(jx 'JSON.stringify(o)')" = '{"blobs":0,"bytes":0,"files":0,"fileBytes":0}' ] &&
    ok "blob gc -j" || notok "blob gc -j" "$(cat "$T/out")"
ctl blob gc -e nope
[ $? != 0 ] && grep -q "seconds invalid" "$T/out" &&
    ok "blob gc -e with a bad number is refused" || notok "bad -e" "$(cat "$T/out")"

#
# A deleted account's files go at the next collection.
#
account frank.test || notok "createAccount frank" "$st $(cat "$T/body")"
FRANK=$did
mkfile f1 ffd8ffe0 1234
F1=$(rawcid "$T/f1")
call -H "Authorization: Bearer $tok" -H 'Content-Type: image/jpeg' \
    --data-binary "@$T/f1" "$R.uploadBlob"
[ "$st" = 200 ] && [ -f "$BLOBS/$F1" ] || notok "upload for frank" "$st $(cat "$T/body")"
ctl account delete frank.test
if [ -f "$BLOBS/$F1" ] && ctl blob gc &&
    grep -qx "collected 0 unused blobs (0 bytes); removed 1 files (1234 bytes)" "$T/out" &&
    [ ! -e "$BLOBS/$F1" ]; then
	ok "a deleted account's file goes at the next blob gc, grace or not"
else
	notok "deleted account's blobs" "$(cat "$T/out"; ls "$BLOBS")"
fi

#
# A crash in the middle of an upload.
#
mkfile whole 89504e470d0a1a0a 50000
WHOLE=$(rawcid "$T/whole")
n0=$(nfiles)
call -H 'Content-Type: application/json' -d '{"identifier":"erin.test","password":"pw-erin-123"}' \
    "$X/com.atproto.server.createSession"
ETOK=$(jx o.accessJwt)
# Half the body, then the client waits (at most 20 s) for the crash.
"$NODE" -e '
const [port, tok, file] = process.argv.slice(1)
const b = require("fs").readFileSync(file)
const s = require("net").connect(+port, "127.0.0.1", () => {
	s.write("POST /xrpc/com.atproto.repo.uploadBlob HTTP/1.1\r\nHost: x\r\n" +
	    "Authorization: Bearer " + tok + "\r\nContent-Type: image/png\r\n" +
	    "Content-Length: " + b.length + "\r\n\r\n")
	s.write(b.subarray(0, 30000))
})
s.on("error", () => process.exit(0))
s.on("close", () => process.exit(0))
setTimeout(() => process.exit(0), 20000)' "$PORT" "$ETOK" "$T/whole" &
CLIENT=$!
i=0
while [ $i -lt 100 ]; do
	# Gathered in memory up to 256 KiB: the file is there, maybe empty.
	sz=$(find "$BLOBS/tmp" -type f 2>/dev/null | wc -l)
	[ "$sz" -gt 0 ] && break
	sleep 0.1
	i=$((i + 1))
done
[ "$sz" -gt 0 ] && ok "the upload is under way in the temporary directory" ||
    notok "partial upload" "$(ls -la "$BLOBS/tmp")"
kill -9 $(children_of "$PID") "$PID" 2>/dev/null
wait_gone "$PID" 50
kill "$CLIENT" 2>/dev/null
wait "$CLIENT" 2>/dev/null
[ ! -e "$BLOBS/$WHOLE" ] && [ "$(nfiles)" -eq "$n0" ] &&
    ok "after kill -9: no file under a CID, only the temporary one" ||
    notok "after the crash" "$(ls -la "$BLOBS" "$BLOBS/tmp")"
if start_pdsd; then
	[ "$(find "$BLOBS/tmp" -type f | wc -l)" -eq 0 ] &&
	    ok "the next start empties the temporary directory" ||
	    notok "tmp after restart" "$(ls -la "$BLOBS/tmp")"
	call -H "Authorization: Bearer $ETOK" -H 'Content-Type: image/png' \
	    --data-binary "@$T/whole" "$R.uploadBlob"
	[ "$st" = 200 ] && [ "$(jx o.blob.ref.\$link)" = "$WHOLE" ] &&
	    cmp -s "$T/whole" "$BLOBS/$WHOLE" &&
	    ok "the same upload whole after the restart" ||
	    notok "upload after restart" "$st $(cat "$T/body")"
else
	notok "pdsd starts again" "$(tail -5 "$T/log")"
fi

#
# Import, then the missing blobs with the official client.
#
account gina.test || notok "createAccount gina" "$st $(cat "$T/body")"
GINA=$did
echo "$KEYHEX" >"$T/key"
mkfile g1 ffd8ffe0 1500
mkfile g2 89504e470d0a1a0a 2500
mkfile g3 47494638396100 700
G1=$(rawcid "$T/g1")
G2=$(rawcid "$T/g2")
G3=$(rawcid "$T/g3")
mkdir -p "$T/repo/$POST" "$T/repo/app.bsky.actor.profile"
printf '{"did": "%s"}\n' "$GINA" >"$T/repo/_commit.json"
img() {
	printf '{"$type":"blob","ref":{"$link":"%s"},"mimeType":"%s","size":%s}' "$1" "$2" "$3"
}
printf '{"$type":"%s","text":"a","createdAt":"%s","embed":{"$type":"app.bsky.embed.images","images":[{"alt":"","image":%s},{"alt":"","image":%s}]}}' \
    "$POST" "$DATE" "$(img "$G1" image/jpeg 1500)" "$(img "$G3" image/gif 700)" \
    >"$T/repo/$POST/3kaaaaaaaaaa2.json"
printf '{"$type":"app.bsky.actor.profile","displayName":"g","avatar":%s}' \
    "$(img "$G2" image/png 2500)" >"$T/repo/app.bsky.actor.profile/self.json"
"$PDSCTL" pack "$T/repo" "$T/gina.car" -k "$T/key" >"$T/out" 2>&1 &&
    ctl import --did "$GINA" "$T/gina.car" &&
    ok "pdsctl import of a repo whose records name 3 blobs" || notok "import" "$(cat "$T/out")"
node_tap missing blob_flow.mjs "$URL" gina.test pw-gina.test missing \
    "$T/g1" "$T/g2" "$T/g3"

kill "$PID" 2>/dev/null
wait_gone "$PID" 50
done_testing
