#!/bin/sh
# getTimeline's window (xrpc_bsky_feed.c): the timeline first reads only
# rows no older than the 2,000th newest post or repost before the cursor,
# and asks again without that bound when the window gives a short page.
# Here 4,000 posts of accounts alice does not follow bury her follows'
# posts and reposts between them, so that some pages come from the
# window and some from the fallback; every page, at several limits,
# must be exactly the rows of the plain query over the whole index.
. "$(dirname "$0")/lib.subr"

J='Content-Type: application/json'
write_conf
echo "rate limits off" >>"$T/pdsd.conf"
must_start_pdsd
X=$URL/xrpc
DB=$T/data/pdsd.db

for n in alice bob carol; do
	account "$n.test" || notok "account $n" "$(cat "$T/body")"
	eval "tok_$n=\$tok did_$n=\$did"
done

# Rounds of 200 posts by carol, then a few by bob and alice and a repost
# by bob of one of carol's; alice follows bob.
"$top/tests/node/node_modules/.bin/node" -e '
const [X, ta, da, tb, db, tc, dc] = process.argv.slice(1)
const post = "app.bsky.feed.post"
async function apply(tok, repo, writes) {
	const r = await fetch(`${X}/com.atproto.repo.applyWrites`, {
		method: "POST", headers: { "content-type": "application/json",
		authorization: `Bearer ${tok}` },
		body: JSON.stringify({ repo, writes }) })
	if (r.status !== 200) throw new Error(await r.text())
	return (await r.json()).results
}
const rec = (type, v) => ({ $type: "com.atproto.repo.applyWrites#create",
	collection: type, value: { $type: type, createdAt: new Date().toISOString(), ...v } })
await apply(ta, da, [rec("app.bsky.graph.follow", { subject: db })])
for (let round = 0; round < 20; round++) {
	const res = await apply(tc, dc, Array.from({ length: 200 }, (_, i) =>
		rec(post, { text: `carol ${round} ${i}` })))
	const mine = round % 3 === 0 ? 1 : 3
	await apply(tb, db, Array.from({ length: mine }, (_, i) =>
		rec(post, { text: `bob ${round} ${i}` })))
	if (round % 2 === 0)
		await apply(ta, da, [rec(post, { text: `alice ${round}` })])
	if (round % 4 === 1)
		await apply(tb, db, [rec("app.bsky.feed.repost", { subject:
			{ uri: res[7].uri, cid: res[7].cid } })])
}
' "$X" "$tok_alice" "$did_alice" "$tok_bob" "$did_bob" "$tok_carol" \
    "$did_carol" 2>"$T/node.err" || notok "the writes" "$(cat "$T/node.err")"

# The plain query over the whole index: what every page must add up to.
sqlite3 -cmd '.timeout 5000' "$DB" "
    WITH who (did) AS (SELECT '$did_alice' UNION SELECT subject
	FROM bsky_follow WHERE did = '$did_alice'),
    items (item, post, at) AS (
	SELECT uri, uri, indexed_at FROM bsky_post WHERE did IN who
	UNION ALL SELECT r.uri, r.subject, r.indexed_at FROM bsky_repost r
	WHERE r.did IN who AND EXISTS (SELECT 1 FROM bsky_post p
	WHERE p.uri = r.subject))
    SELECT post FROM items ORDER BY at DESC, item DESC" >"$T/want"
n=$(wc -l <"$T/want")
if [ "$n" -gt 40 ] && [ "$(sqlite3 "$DB" 'SELECT count(*) FROM bsky_post')" -gt 4000 ]; then
	ok "the index holds 4,000 posts, $n of them alice's timeline"
else
	notok "the index holds the posts" "$n rows"
fi

for limit in 1 7 50 100; do
	: >"$T/got"
	cursor=
	i=0
	while [ $i -lt 200 ]; do
		call -H "Authorization: Bearer $tok_alice" \
		    "$X/app.bsky.feed.getTimeline?limit=$limit${cursor:+&cursor=$cursor}"
		[ "$st" = 200 ] || break
		jx 'o.feed.map((f) => f.post.uri).join("\n")' | sed '/^$/d' >>"$T/got"
		cursor=$(jx 'o.cursor ?? ""' | sed 's/:/%3A/g; s/\//%2F/g')
		[ -n "$cursor" ] || break
		i=$((i + 1))
	done
	if [ "$st" = 200 ] && cmp -s "$T/want" "$T/got"; then
		ok "pages of $limit add up to the whole timeline ($i cursors)"
	else
		notok "pages of $limit add up to the whole timeline" \
		    "status $st; $(diff "$T/want" "$T/got" | head -6)"
	fi
done
done_testing
