#!/bin/sh
# The local app.bsky view.  tests/node/appview.mjs builds a small
# community through @atproto/api and checks every read method the
# index answers, validated against ../shared/lexicons by the
# reference's validator.  Then the index is dumped, recomputed by
# "pdsctl index rebuild" and by re-importing a repository, and must
# come back row for row.
. "$(dirname "$0")/lib.subr"

J='Content-Type: application/json'
LEX=$(cd "$top/../shared/lexicons" 2>/dev/null && pwd || echo /work/shared/lexicons)

write_conf
must_start_pdsd
X=$URL/xrpc
DB=$T/data/pdsd.db

sql() {
	sqlite3 -cmd '.timeout 5000' "$DB" "$@"
}

# Every index row, in a fixed order (the full-text rowids aside).
dump() {
	sql "SELECT 'post', uri, did, rkey, cid, text, created_at,
	    indexed_at, reply_root, reply_parent, embed_uri, media, langs
	    FROM bsky_post ORDER BY uri;
	    SELECT 'fts', p.uri FROM bsky_post_fts f JOIN bsky_post p
	    ON p.id = f.rowid WHERE bsky_post_fts MATCH 'alice OR bob OR
	    zebra OR garden' ORDER BY p.uri;
	    SELECT 'tag', * FROM bsky_tag ORDER BY tag, uri;
	    SELECT 'ref', * FROM bsky_post_ref ORDER BY kind, value, uri;
	    SELECT 'profile', * FROM bsky_profile ORDER BY did;
	    SELECT 'follow', * FROM bsky_follow ORDER BY uri;
	    SELECT 'block', * FROM bsky_block ORDER BY uri;
	    SELECT 'like', * FROM bsky_like ORDER BY uri;
	    SELECT 'repost', * FROM bsky_repost ORDER BY uri;
	    SELECT 'notif', * FROM bsky_notif ORDER BY recipient, uri,
	    reason;"
}

node_tap appview appview.mjs "$URL" "$LEX"

# found words: the rkeys of the posts searchPosts finds (as $tok),
# sorted.  intact desc: FTS5 checks its index against bsky_post, every
# term of every post and nothing else (appindex.c adds a write's posts
# to it after their rows, and must before any of them goes).
found() {
	call -H "Authorization: Bearer $tok" \
	    "$X/app.bsky.feed.searchPosts?q=$1&limit=100"
	[ "$st" = 200 ] && jx 'o.posts.map(p => p.uri.split("/").pop()).sort().join(" ")'
}
# FTS5's integrity-check does not see a 'delete' of a row it never had,
# but the row count in its averages record (id 1: a varint first) falls
# below bsky_post's, and later deletes fail as corrupt: compare them.
fts_rows() {
	h=$(sql "SELECT hex(substr(block, 1, 4)) FROM bsky_post_fts_data
	    WHERE id = 1")
	n=0
	while [ -n "$h" ]; do
		b=$((0x$(echo "$h" | cut -c1-2)))
		h=$(echo "$h" | cut -c3-)
		n=$(((n << 7) | (b & 127)))
		[ "$b" -lt 128 ] && break
	done
	echo "$n"
}
intact() {
	check "full-text index intact $1" sql \
	    "INSERT INTO bsky_post_fts (bsky_post_fts) VALUES ('integrity-check')"
	got=$(fts_rows)
	want=$(sql "SELECT count(*) FROM bsky_post")
	if [ "$got" = "$want" ]; then
		ok "full-text index counts bsky_post's $want rows $1"
	else
		notok "full-text index counts bsky_post's rows $1" "$got, not $want"
	fi
}
search_is() {
	got=$(found "$2")
	if [ "$got" = "$3" ]; then
		ok "$1"
	else
		notok "$1" "searchPosts $2: got '$got', want '$3'"
	fi
}

# One applyWrites that makes a post, deletes it and makes it again under
# the same key: a create finds no rows of its record only when nothing
# before it in the batch indexed one.
POST=app.bsky.feed.post
NOW=2024-05-01T00:00:00.000Z
if account redo.test; then
	ok "account for the batch"
else
	notok "account for the batch" "status $st"
fi
w() {
	printf '{"$type":"com.atproto.repo.applyWrites#%s","collection":"%s","rkey":"3kredo00000aa"%s}' \
	    "$1" "$POST" "${2:+,\"value\":{\"\$type\":\"$POST\",\"text\":\"$2\",\"createdAt\":\"$NOW\"\}}"
}
req "create, delete and create again in one batch" 200 '"results"' \
    -H "Authorization: Bearer $tok" -H "$J" -d "{\"repo\":\"$did\",\"writes\":[$(w create "zebra first"),$(w delete),$(w create "zebra again")]}" \
    "$X/com.atproto.repo.applyWrites"
got=$(sql "SELECT group_concat(text, '|') FROM bsky_post WHERE did = '$did'")
if [ "$got" = "zebra again" ]; then
	ok "the post is indexed once, as made last"
else
	notok "the post is indexed once, as made last" "got: $got"
fi
redo=$did redotok=$tok
intact "after a create, delete and create of one post"
search_is "search finds the post made last" "zebra%20again" 3kredo00000aa
search_is "search finds nothing of the one deleted" "zebra%20first" ""

# Creates, updates and deletes mixed, in one call and across calls: the
# post made and deleted in one call, the one made and changed in one
# call, one made earlier and changed or deleted now.
mw() {
	printf '{"$type":"com.atproto.repo.applyWrites#%s","collection":"%s","rkey":"%s"%s}' \
	    "$1" "$POST" "$2" "${3:+,\"value\":{\"\$type\":\"$POST\",\"text\":\"$3\",\"createdAt\":\"$NOW\"\}}"
}
req "create and delete one post in one call" 200 '"results"' \
    -H "Authorization: Bearer $tok" -H "$J" -d "{\"repo\":\"$did\",\"writes\":[$(mw create m1 "wombat gone"),$(mw delete m1)]}" \
    "$X/com.atproto.repo.applyWrites"
intact "after a create and delete of one post in one call"
search_is "search finds nothing of a post made and deleted" wombat ""
req "creates, updates and deletes in one call" 200 '"results"' \
    -H "Authorization: Bearer $tok" -H "$J" -d "{\"repo\":\"$did\",\"writes\":[$(mw create m2 "wombat two"),$(mw create m3 "wombat three"),$(mw update m2 "numbat two"),$(mw create m4 "wombat four"),$(mw delete m3),$(mw create m5 "wombat five"),$(mw update m5 "wombat five again"),$(mw create m6 "wombat six")]}" \
    "$X/com.atproto.repo.applyWrites"
intact "after creates, updates and deletes in one call"
search_is "search: the mix's posts as they ended" wombat "m4 m5 m6"
search_is "search: the updated post by its new text" numbat m2
search_is "search: the updated post not by its old text" "two%20wombat" ""
req "updates and deletes of earlier posts, and creates" 200 '"results"' \
    -H "Authorization: Bearer $tok" -H "$J" -d "{\"repo\":\"$did\",\"writes\":[$(mw create m7 "wombat seven"),$(mw update m4 "numbat four"),$(mw create m8 "wombat eight"),$(mw delete m6),$(mw delete m7),$(mw create m9 "numbat nine")]}" \
    "$X/com.atproto.repo.applyWrites"
intact "after updates and deletes of earlier posts"
search_is "search: the second mix's posts as they ended" wombat "m5 m8"
search_is "search: its updated and new posts" numbat "m2 m4 m9"
call -H "Authorization: Bearer $tok" -H "$J" -d "{\"repo\":\"$did\",\"collection\":\"$POST\",\"rkey\":\"m5\",\"record\":{\"\$type\":\"$POST\",\"text\":\"numbat five\",\"createdAt\":\"$NOW\"}}" \
    "$X/com.atproto.repo.putRecord"
[ "$st" = 200 ] && ok "putRecord over a post" || notok "putRecord over a post" "status $st"
call -H "Authorization: Bearer $tok" -H "$J" -d "{\"repo\":\"$did\",\"collection\":\"$POST\",\"rkey\":\"m8\"}" \
    "$X/com.atproto.repo.deleteRecord"
[ "$st" = 200 ] && ok "deleteRecord of a post" || notok "deleteRecord of a post" "status $st"
intact "after putRecord and deleteRecord"
search_is "search after putRecord and deleteRecord" wombat ""
search_is "search after putRecord and deleteRecord, new text" numbat \
    "m2 m4 m5 m9"

# A longer batch: its posts enter the full-text index together, after
# their rows; a follow, a delete of one of them and a reply in between
# must see every row made before them, and the ids follow the writes'
# order.
if account batch.test; then
	ok "account for the long batch"
else
	notok "account for the long batch" "status $st"
fi
bw() {
	printf '{"$type":"com.atproto.repo.applyWrites#create","collection":"%s","rkey":"b%02d","value":{"$type":"%s","text":"garden batch %d","createdAt":"%s"}}' \
	    "$POST" "$1" "$POST" "$1" "$NOW"
}
ws=""
i=1
while [ $i -le 17 ]; do
	ws="$ws$(bw $i),"
	i=$((i + 1))
done
ws="$ws"'{"$type":"com.atproto.repo.applyWrites#create","collection":"app.bsky.graph.follow","rkey":"f01","value":{"$type":"app.bsky.graph.follow","subject":"did:plc:zzzzzzzzzzzzzzzzzzzzzzzz","createdAt":"'"$NOW"'"}},'
ws="$ws"'{"$type":"com.atproto.repo.applyWrites#delete","collection":"'"$POST"'","rkey":"b03"},'
ws="$ws$(bw 18),$(bw 19)"
req "one applyWrites of 19 posts, a follow and a delete" 200 '"results"' \
    -H "Authorization: Bearer $tok" -H "$J" -d "{\"repo\":\"$did\",\"writes\":[$ws]}" \
    "$X/com.atproto.repo.applyWrites"
got=$(sql "SELECT group_concat(rkey, ' ') FROM (SELECT rkey FROM bsky_post
    WHERE did = '$did' ORDER BY id)")
want="b01 b02 b04 b05 b06 b07 b08 b09 b10 b11 b12 b13 b14 b15 b16 b17 b18 b19"
if [ "$got" = "$want" ]; then
	ok "the batch's posts, in order, the deleted one gone"
else
	notok "the batch's posts, in order" "got: $got"
fi
got=$(sql "SELECT count(*) FROM bsky_post_fts f JOIN bsky_post p ON
    p.id = f.rowid WHERE bsky_post_fts MATCH 'batch' AND p.did = '$did'")
if [ "$got" = 18 ]; then
	ok "the full-text index finds the batch's 18 posts"
else
	notok "the full-text index finds the batch's posts" "got: $got"
fi
intact "after the long batch"
got=$(sql "SELECT count(*) FROM bsky_follow WHERE did = '$did'")
if [ "$got" = 1 ]; then
	ok "the follow in the batch indexed"
else
	notok "the follow in the batch indexed" "got: $got"
fi

dump >"$T/before"
n=$(grep -c . "$T/before")
if [ "$n" -gt 40 ] && grep -q '^post|' "$T/before" &&
    grep -q '^notif|.*|mention|' "$T/before" &&
    grep -q '^ref|domain|example.com|' "$T/before" &&
    grep -q '^fts|' "$T/before"; then
	ok "the index holds the community ($n rows)"
else
	notok "the index holds the community" "$(head -20 "$T/before")"
fi
check "pdsctl index rebuild" "$PDSCTL" -s "$SOCK" index rebuild
dump >"$T/after"
if cmp -s "$T/before" "$T/after"; then
	ok "rebuild gives the same rows"
else
	notok "rebuild gives the same rows" "$(diff "$T/before" "$T/after" | head -10)"
fi
check "full-text index intact after rebuild" sql \
    "INSERT INTO bsky_post_fts (bsky_post_fts) VALUES ('integrity-check')"

# Wiped and rebuilt from nothing: the same again.
sql "DELETE FROM bsky_post; DELETE FROM bsky_notif; DELETE FROM bsky_like;
    DELETE FROM bsky_follow; DELETE FROM bsky_profile; DELETE FROM bsky_tag;
    DELETE FROM bsky_post_ref"
"$PDSCTL" -s "$SOCK" index rebuild >"$T/rebuild.out" 2>&1
dump >"$T/after"
if cmp -s "$T/before" "$T/after" && grep -q "index rebuilt from" "$T/rebuild.out"; then
	ok "rebuild from an empty index gives the same rows"
else
	notok "rebuild from an empty index" "$(cat "$T/rebuild.out"; diff "$T/before" "$T/after" | head -10)"
fi

# An import of alice's own repository: her rows come back; their
# indexed_at is the import's, so compare without it.
alice=$(sql "SELECT did FROM account WHERE handle = 'alice.test'")
curl -sS -o "$T/alice.car" "$X/com.atproto.sync.getRepo?did=$alice"
strip() {
	sed 's/|20[0-9][0-9]-[0-9-]*T[0-9:.]*Z//g' "$1"
}
strip "$T/before" >"$T/b.strip"
if "$PDSCTL" -s "$SOCK" import --did "$alice" "$T/alice.car" >"$T/imp.out" 2>&1; then
	dump >"$T/after"
	strip "$T/after" >"$T/a.strip"
	if cmp -s "$T/b.strip" "$T/a.strip"; then
		ok "import reindexes the repository"
	else
		notok "import reindexes the repository" "$(diff "$T/b.strip" "$T/a.strip" | head -10)"
	fi
else
	notok "import of alice's repository" "$(cat "$T/imp.out")"
fi

# More posts than one load batch (appindex.c: 2048): an import and a
# rebuild give the same rows, and full-text search finds every post.
bob=$(sql "SELECT did FROM account WHERE handle = 'bob.test'")
"$top/tests/node/node_modules/.bin/node" -e '
const fs = require("fs"), dir = process.argv[1], did = process.argv[2]
const post = "app.bsky.feed.post"
fs.mkdirSync(`${dir}/${post}`, { recursive: true })
fs.writeFileSync(`${dir}/_commit.json`, JSON.stringify({ did, rev: "3lbbbbbbbbb22" }))
for (let i = 0; i < 2100; i++) {
	const rkey = "3l" + (100000000000 + i).toString(32).slice(-11)
	const rec = { $type: post, text: `load ${i} ${i % 7 ? "okapi" : "quagga"} #t${i % 5}${i % 419 ? "" : " narwhal"}`,
	    createdAt: "2024-01-01T00:00:00.000Z",
	    facets: [{ index: { byteStart: 0, byteEnd: 4 }, features: [{
	    $type: "app.bsky.richtext.facet#tag", tag: `t${i % 5}` }] }] }
	if (i % 10 === 0)
		rec.reply = { root: { uri: `at://${did}/${post}/3lroot`, cid: "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm" },
		    parent: { uri: `at://${did}/${post}/3lroot`, cid: "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm" } }
	fs.writeFileSync(`${dir}/${post}/${rkey}.json`, JSON.stringify(rec))
}' "$T/many" "$bob"
echo 9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c >"$T/key"
if "$PDSCTL" pack "$T/many" "$T/many.car" -k "$T/key" >"$T/pack.out" 2>&1 &&
    "$PDSCTL" -s "$SOCK" import --did "$bob" "$T/many.car" >"$T/imp.out" 2>&1 &&
    [ "$(sql "SELECT count(*) FROM bsky_post WHERE did = '$bob'")" = 2100 ] &&
    [ "$(sql "SELECT count(*) FROM bsky_post_fts WHERE bsky_post_fts
    MATCH 'quagga'")" = 300 ] &&
    [ "$(sql "SELECT count(*) FROM bsky_post_fts WHERE bsky_post_fts
    MATCH 'okapi'")" = 1800 ] &&
    [ "$(sql "SELECT count(*) FROM bsky_tag WHERE tag = 't3'")" = 420 ]; then
	ok "an import of 2100 posts indexes them all"
else
	notok "import of 2100 posts" "$(cat "$T/pack.out" "$T/imp.out")"
fi
intact "after the import"
# The posts of both load batches (appindex.c: 2048 a batch) are found.
narwhals=$(sql "SELECT group_concat(rkey, ' ') FROM (SELECT rkey FROM
    bsky_post WHERE text LIKE '%narwhal%' ORDER BY rkey)")
[ "$(echo $narwhals | wc -w)" = 6 ] && ok "six narwhal posts" ||
    notok "six narwhal posts" "$narwhals"
search_is "search finds the imported posts" narwhal "$narwhals"
dump >"$T/many.before"
# A full-text index out of step (m2's terms taken out behind its back)
# is made whole by the rebuild, whatever it held.
sql "INSERT INTO bsky_post_fts (bsky_post_fts, rowid, text) SELECT
    'delete', id, text FROM bsky_post WHERE rkey = 'm2'"
search_is "search misses the post taken out of the full-text index" \
    numbat "m4 m5 m9"
check "pdsctl index rebuild after it" "$PDSCTL" -s "$SOCK" index rebuild
dump >"$T/many.after"
if cmp -s "$T/many.before" "$T/many.after"; then
	ok "rebuild gives the rows the import made"
else
	notok "rebuild after the import" "$(diff "$T/many.before" "$T/many.after" | head -10)"
fi
intact "after the import and rebuild"
search_is "search finds the rebuilt posts" narwhal "$narwhals"
search_is "search after the rebuild, written posts" numbat "m2 m4 m5 m9"
# The rebuild turned the delete trigger off for its own DELETE only.
call -H "Authorization: Bearer $redotok" -H "$J" -d "{\"repo\":\"$redo\",\"collection\":\"$POST\",\"rkey\":\"m9\"}" \
    "$X/com.atproto.repo.deleteRecord"
[ "$st" = 200 ] && ok "deleteRecord after the rebuild" ||
    notok "deleteRecord after the rebuild" "status $st $(cat "$T/body")"
intact "after a delete that follows the rebuild"
search_is "search after that delete" numbat "m2 m4 m5"

done_testing
