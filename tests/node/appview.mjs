// A small community on one pdsd, driven through @atproto/api as a
// client app drives it: four accounts follow, post, reply, quote,
// like, repost, block, delete and set profiles.  Then every app.bsky
// read the local index answers is checked against what the script
// implies, and every answer against its lexicon with the reference's
// own validator over ../shared/lexicons.  Prints TAP.
//
//	node appview.mjs URL LEXICON_DIR [writes]
// With "writes" it only builds the community (for the rebuild test).
import fs from 'fs'
import path from 'path'
import { AtpAgent, RichText } from '@atproto/api'
import { Lexicons } from '@atproto/lexicon'
import { ok, step, done } from './tap.mjs'

const [service, lexdir, mode] = process.argv.slice(2)
const POST = 'app.bsky.feed.post'

function loadLexicons(dir) {
  const docs = []
  const walk = (d) => {
    for (const f of fs.readdirSync(d)) {
      const p = path.join(d, f)
      if (fs.statSync(p).isDirectory()) walk(p)
      else if (f.endsWith('.json')) docs.push(JSON.parse(fs.readFileSync(p)))
    }
  }
  walk(dir)
  const lex = new Lexicons()
  for (const doc of docs) {
    try { lex.add(doc) } catch (e) { /* duplicates, odd docs */ }
  }
  return lex
}

const agents = {}
const dids = {}
const now = () => new Date().toISOString()

async function account(name) {
  const a = new AtpAgent({ service })
  await a.createAccount({
    handle: `${name}.test`, password: `pw-${name}`,
    email: `${name}@example.com`,
  })
  agents[name] = a
  dids[name] = a.session.did
  return a
}

async function post(name, text, extra = {}) {
  const r = await agents[name].com.atproto.repo.createRecord({
    repo: dids[name], collection: POST,
    record: { $type: POST, text, createdAt: now(), ...extra },
  })
  return { uri: r.data.uri, cid: r.data.cid }
}

const ref = (p) => ({ uri: p.uri, cid: p.cid })
const P = {}

async function build() {
  for (const n of ['alice', 'bob', 'carol', 'dave']) await account(n)
  const png = new Uint8Array(3000)
  png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const up = await agents.alice.uploadBlob(png, { encoding: 'image/png' })
  P.avatar = up.data.blob
  await agents.alice.com.atproto.repo.putRecord({
    repo: dids.alice, collection: 'app.bsky.actor.profile', rkey: 'self',
    record: { $type: 'app.bsky.actor.profile', displayName: 'Alice Liddell',
      description: 'down the rabbit hole', avatar: P.avatar },
  })
  await agents.bob.com.atproto.repo.putRecord({
    repo: dids.bob, collection: 'app.bsky.actor.profile', rkey: 'self',
    record: { $type: 'app.bsky.actor.profile', displayName: 'Bob Builder' },
  })
  const follow = (a, b) => agents[a].follow(dids[b])
  P.f_ab = await follow('alice', 'bob')
  await follow('alice', 'carol')
  await follow('bob', 'alice')
  await follow('carol', 'alice')
  await follow('dave', 'alice')
  P.f_db = await follow('dave', 'bob')

  const rt = new RichText({ text: 'hello world #intro' })
  rt.detectFacetsWithoutResolution()
  P.p1 = await post('alice', rt.text, { facets: rt.facets, langs: ['en'] })
  P.p2 = await post('bob', 'bob here, hi @alice.test', {
    facets: [{ index: { byteStart: 14, byteEnd: 25 }, features: [{
      $type: 'app.bsky.richtext.facet#mention', did: dids.alice }] }],
  })
  const img = await agents.carol.uploadBlob(png, { encoding: 'image/png' })
  P.imgcid = img.data.blob.ref.toString()
  P.p3 = await post('carol', 'a picture of the garden', {
    embed: { $type: 'app.bsky.embed.images', images: [{
      image: img.data.blob, alt: 'roses',
      aspectRatio: { width: 4, height: 3 } }] },
  })
  P.r1 = await post('alice', 'reply to bob', {
    reply: { root: ref(P.p2), parent: ref(P.p2) } })
  P.r2 = await post('bob', 'bob answers alice', {
    reply: { root: ref(P.p2), parent: ref(P.r1) } })
  P.q1 = await post('carol', 'look at this, quoting alice', {
    embed: { $type: 'app.bsky.embed.record', record: ref(P.p1) } })
  P.p4 = await post('dave', 'dave says searchable zebra words', {
    tags: ['Gardening'] })
  P.pdel = await post('alice', 'a mistake, deleted')
  await agents.alice.deletePost(P.pdel.uri)

  P.l_b1 = await agents.bob.like(P.p1.uri, P.p1.cid)
  P.l_c1 = await agents.carol.like(P.p1.uri, P.p1.cid)
  P.l_a2 = await agents.alice.like(P.p2.uri, P.p2.cid)
  P.l_cdel = await agents.carol.like(P.p2.uri, P.p2.cid)
  await agents.carol.deleteLike(P.l_cdel.uri)
  // A like of a post that does not exist yet: kept, shown once it does.
  P.late = { uri: `at://${dids.alice}/${POST}/3kaaaaaaaaaa2`,
    cid: P.p1.cid }
  P.l_dlate = await agents.dave.like(P.late.uri, P.late.cid)
  P.rp_b1 = await agents.bob.repost(P.p1.uri, P.p1.cid)
  P.rp_c2 = await agents.carol.repost(P.p2.uri, P.p2.cid)
  P.blk = await agents.dave.app.bsky.graph.block.create(
    { repo: dids.dave }, { subject: dids.carol, createdAt: now() })
}

await step('the community is built', async () => {
  await build()
  ok(true, 'the community is built')
})
if (mode === 'writes') {
  fs.writeFileSync(process.env.COMMUNITY_OUT ?? '/dev/null',
    JSON.stringify({ dids, P }))
  done()
}

const lex = loadLexicons(lexdir)

// A raw XRPC GET as viewer (no session: no Authorization), the JSON
// body as sent, not as the client library reshapes it.
async function xget(viewer, nsid, params = {}) {
  const u = new URL(`/xrpc/${nsid}`, service)
  for (const [k, v] of Object.entries(params)) {
    for (const x of [].concat(v)) u.searchParams.append(k, String(x))
  }
  const headers = viewer ? { authorization:
    `Bearer ${agents[viewer].session.accessJwt}` } : {}
  const r = await fetch(u, { headers })
  return { status: r.status, body: await r.json().catch(() => null) }
}

function lexOk(nsid, body) {
  try {
    lex.assertValidXrpcOutput(nsid, body)
    return null
  } catch (e) {
    return e.message
  }
}

// get: a 200 whose body is valid for its lexicon; the body.
async function get(viewer, nsid, params, desc) {
  const r = await xget(viewer, nsid, params)
  const bad = r.status === 200 ? lexOk(nsid, r.body) : `status ${r.status}`
  ok(bad === null, `${desc ?? nsid}: 200, valid for the lexicon`,
    bad === null ? undefined : { bad, body: r.body })
  return r.body ?? {}
}

async function refused(viewer, nsid, params, status, error, message, desc) {
  const r = await xget(viewer, nsid, params)
  ok(r.status === status && r.body?.error === error &&
    (message === undefined || r.body?.message === message),
    `${desc}: ${status} ${error}`, r)
}

const uris = (feed) => feed.map((f) => f.post.uri)
const same = (a, b) => JSON.stringify([...a].sort()) ===
  JSON.stringify([...b].sort())

await step('getTimeline', async () => {
  const t = await get('alice', 'app.bsky.feed.getTimeline', {})
  const u = uris(t.feed)
  ok(same(u, [P.p1.uri, P.p2.uri, P.p3.uri, P.r1.uri, P.r2.uri, P.q1.uri,
    P.p1.uri, P.p2.uri]), 'timeline: own posts, follows\' posts and reposts', u)
  const rp = t.feed.find((f) => f.reason)
  ok(rp?.reason?.$type === 'app.bsky.feed.defs#reasonRepost' &&
    rp.reason.by.did !== dids.alice, 'a repost carries reasonRepost', rp)
  const r2 = t.feed.find((f) => f.post.uri === P.r2.uri)
  ok(r2?.reply?.parent?.uri === P.r1.uri && r2.reply.root.uri === P.p2.uri,
    'a reply carries its root and parent', r2?.reply)
  ok(!u.includes(P.p4.uri) && !u.includes(P.pdel.uri),
    'no unfollowed or deleted posts')
  // Pages of 3 give the same items in the same order.
  let cursor, paged = []
  for (let i = 0; i < 5; i++) {
    const pg = await xget('alice', 'app.bsky.feed.getTimeline',
      cursor ? { limit: 3, cursor } : { limit: 3 })
    paged = paged.concat(pg.body.feed.map((f) => f.post.uri +
      (f.reason ? 'r' : '')))
    cursor = pg.body.cursor
    if (!cursor) break
  }
  ok(JSON.stringify(paged) === JSON.stringify(t.feed.map((f) => f.post.uri +
    (f.reason ? 'r' : ''))), 'timeline pages by cursor', paged)
})

await step('getAuthorFeed', async () => {
  const all = await get('alice', 'app.bsky.feed.getAuthorFeed',
    { actor: 'bob.test' })
  ok(same(uris(all.feed), [P.p2.uri, P.r2.uri, P.p1.uri]) &&
    all.feed.some((f) => f.reason?.by?.did === dids.bob),
    'posts_with_replies: posts, replies, reposts', uris(all.feed))
  const nr = await get('alice', 'app.bsky.feed.getAuthorFeed',
    { actor: dids.bob, filter: 'posts_no_replies' })
  ok(same(uris(nr.feed), [P.p2.uri, P.p1.uri]), 'posts_no_replies',
    uris(nr.feed))
  const m = await get('alice', 'app.bsky.feed.getAuthorFeed',
    { actor: 'carol.test', filter: 'posts_with_media' })
  const img = m.feed[0]?.post?.embed
  ok(m.feed.length === 1 && m.feed[0].post.uri === P.p3.uri &&
    img?.$type === 'app.bsky.embed.images#view' &&
    img.images[0].fullsize.includes(
      `/xrpc/com.atproto.sync.getBlob?did=${dids.carol}&cid=${P.imgcid}`) &&
    img.images[0].alt === 'roses', 'posts_with_media, images view', m)
  const th = await get('bob', 'app.bsky.feed.getAuthorFeed',
    { actor: 'alice.test', filter: 'posts_and_author_threads' })
  ok(same(uris(th.feed), [P.p1.uri]), 'posts_and_author_threads',
    uris(th.feed))
})

await step('getPostThread', async () => {
  const t = await get('carol', 'app.bsky.feed.getPostThread',
    { uri: P.p2.uri })
  const th = t.thread
  ok(th.post.uri === P.p2.uri && th.replies[0].post.uri === P.r1.uri &&
    th.replies[0].replies[0].post.uri === P.r2.uri && th.post.replyCount === 1,
    'thread: the post and its replies', th)
  const up = await get('carol', 'app.bsky.feed.getPostThread',
    { uri: P.r2.uri, depth: 0 })
  ok(up.thread.parent.post.uri === P.r1.uri &&
    up.thread.parent.parent.post.uri === P.p2.uri &&
    up.thread.replies === undefined, 'thread: the parents', up)
  const h1 = await get('carol', 'app.bsky.feed.getPostThread',
    { uri: P.r2.uri, parentHeight: 1 })
  ok(h1.thread.parent.post.uri === P.r1.uri && !h1.thread.parent.parent,
    'parentHeight bounds the parents')
  await refused('carol', 'app.bsky.feed.getPostThread', { uri: P.pdel.uri },
    400, 'NotFound', `Post not found: ${P.pdel.uri}`, 'a deleted post')
})

await step('getPosts', async () => {
  const r = await get('bob', 'app.bsky.feed.getPosts',
    { uris: [P.p1.uri, P.q1.uri, P.pdel.uri] })
  const [p1, q1] = r.posts
  ok(r.posts.length === 2 && p1.uri === P.p1.uri && q1.uri === P.q1.uri,
    'getPosts: the posts that exist, in order', r)
  ok(p1.likeCount === 2 && p1.repostCount === 1 && p1.quoteCount === 1 &&
    p1.replyCount === 0 && p1.viewer.like === P.l_b1.uri &&
    p1.viewer.repost === P.rp_b1.uri && p1.author.handle === 'alice.test' &&
    p1.author.displayName === 'Alice Liddell' && p1.record.text ===
    'hello world #intro', 'counts, viewer state, author, record', p1)
  ok(q1.embed?.$type === 'app.bsky.embed.record#view' &&
    q1.embed.record.$type === 'app.bsky.embed.record#viewRecord' &&
    q1.embed.record.uri === P.p1.uri, 'a quote embeds the quoted post',
    q1.embed)
  await refused('bob', 'app.bsky.feed.getPosts',
    { uris: Array(26).fill(P.p1.uri) }, 400, 'InvalidRequest', undefined,
    'getPosts: more than 25 uris')
})

await step('getLikes, getRepostedBy, getActorLikes', async () => {
  const l = await get('alice', 'app.bsky.feed.getLikes', { uri: P.p1.uri })
  ok(same(l.likes.map((x) => x.actor.did), [dids.bob, dids.carol]),
    'getLikes: who liked', l)
  const a = await get('alice', 'app.bsky.feed.getLikes',
    { uri: P.p1.uri, limit: 1 })
  const b = await get('alice', 'app.bsky.feed.getLikes',
    { uri: P.p1.uri, limit: 1, cursor: a.cursor })
  ok(a.likes.length === 1 && b.likes.length === 1 &&
    a.likes[0].actor.did !== b.likes[0].actor.did, 'getLikes pages', [a, b])
  const rb = await get('alice', 'app.bsky.feed.getRepostedBy',
    { uri: P.p1.uri })
  ok(rb.repostedBy.length === 1 && rb.repostedBy[0].did === dids.bob,
    'getRepostedBy', rb)
  const al = await get('alice', 'app.bsky.feed.getActorLikes',
    { actor: 'alice.test' })
  ok(same(uris(al.feed), [P.p2.uri]), 'getActorLikes: own likes', al)
  await refused('bob', 'app.bsky.feed.getActorLikes', { actor: 'alice.test' },
    400, 'InvalidRequest', 'Profile not found', "another actor's likes")
})

await step('a dangling like shows once its post exists', async () => {
  let l = await get('alice', 'app.bsky.feed.getLikes', { uri: P.late.uri })
  ok(l.likes.length === 1, 'the like is listed by its subject', l)
  let n = await xget('alice', 'app.bsky.notification.listNotifications')
  ok(!n.body.notifications.some((x) => x.uri === P.l_dlate.uri),
    'no notification while the post is missing')
  await agents.alice.com.atproto.repo.createRecord({
    repo: dids.alice, collection: POST, rkey: '3kaaaaaaaaaa2',
    record: { $type: POST, text: 'late but here', createdAt: now() } })
  const p = await get('alice', 'app.bsky.feed.getPosts', { uris: P.late.uri })
  ok(p.posts[0]?.likeCount === 1, 'the post counts the earlier like', p)
  n = await xget('alice', 'app.bsky.notification.listNotifications')
  ok(n.body.notifications.some((x) => x.uri === P.l_dlate.uri &&
    x.reason === 'like'), 'and the notification appears')
})

await step('profiles', async () => {
  const p = await get('bob', 'app.bsky.actor.getProfile', { actor: 'alice.test' })
  ok(p.did === dids.alice && p.handle === 'alice.test' &&
    p.displayName === 'Alice Liddell' && p.description ===
    'down the rabbit hole' && p.avatar?.includes(
      `getBlob?did=${dids.alice}&cid=${P.avatar.ref.toString()}`) &&
    p.followersCount === 3 && p.followsCount === 2 && p.postsCount === 3 &&
    p.viewer?.following && p.viewer?.followedBy === P.f_ab.uri,
    'getProfile: fields, counts, viewer state', p)
  const ps = await get('bob', 'app.bsky.actor.getProfiles',
    { actors: ['alice.test', dids.bob, 'nobody.test'] })
  ok(ps.profiles.map((x) => x.did).join() === `${dids.alice},${dids.bob}`,
    'getProfiles leaves out unknown actors', ps)
  const d = await get('dave', 'app.bsky.actor.getProfile', { actor: 'carol.test' })
  ok(d.viewer?.blocking === P.blk.uri, 'viewer.blocking', d.viewer)
  const c = await get('carol', 'app.bsky.actor.getProfile', { actor: 'dave.test' })
  ok(c.viewer?.blockedBy === true, 'viewer.blockedBy', c.viewer)
  const s = await get('dave', 'app.bsky.actor.searchActors', { q: 'ALI' })
  ok(s.actors.map((x) => x.did).join() === dids.alice, 'searchActors', s)
  const t = await get('dave', 'app.bsky.actor.searchActorsTypeahead',
    { q: 'build' })
  ok(t.actors.map((x) => x.did).join() === dids.bob,
    'searchActorsTypeahead by display name', t)
  const t2 = await get('dave', 'app.bsky.actor.searchActorsTypeahead',
    { q: 'uild' })
  ok(t2.actors.length === 0, 'typeahead matches starts only', t2)
})

await step('graph', async () => {
  const f = await get('bob', 'app.bsky.graph.getFollowers', { actor: 'alice.test' })
  ok(same(f.followers.map((x) => x.did), [dids.bob, dids.carol, dids.dave]) &&
    f.subject.did === dids.alice, 'getFollowers', f)
  const g = await get('bob', 'app.bsky.graph.getFollows', { actor: 'alice.test' })
  ok(same(g.follows.map((x) => x.did), [dids.bob, dids.carol]), 'getFollows', g)
  const p1 = await get('bob', 'app.bsky.graph.getFollowers',
    { actor: 'alice.test', limit: 2 })
  const p2 = await get('bob', 'app.bsky.graph.getFollowers',
    { actor: 'alice.test', limit: 2, cursor: p1.cursor })
  ok(same(p1.followers.concat(p2.followers).map((x) => x.did),
    [dids.bob, dids.carol, dids.dave]) && !p2.cursor, 'getFollowers pages')
  const b = await get('dave', 'app.bsky.graph.getBlocks', {})
  ok(b.blocks.map((x) => x.did).join() === dids.carol, 'getBlocks', b)
  await refused('dave', 'app.bsky.feed.getAuthorFeed', { actor: 'carol.test' },
    400, 'BlockedActor', undefined, 'the feed of an actor one blocks')
  await refused('carol', 'app.bsky.feed.getAuthorFeed', { actor: 'dave.test' },
    400, 'BlockedByActor', undefined, 'the feed of an actor who blocks one')
})

await step('notifications', async () => {
  const n = await get('alice', 'app.bsky.notification.listNotifications', {})
  const got = n.notifications.map((x) => `${x.reason}:${x.author.handle}`)
  const want = ['follow:bob.test', 'follow:carol.test', 'follow:dave.test',
    'like:bob.test', 'like:carol.test', 'like:dave.test', 'repost:bob.test',
    'mention:bob.test', 'reply:bob.test', 'quote:carol.test']
  ok(same(got, want), 'listNotifications: each reason', got)
  ok(n.notifications.every((x) => x.isRead === false), 'all unread')
  const q = n.notifications.find((x) => x.reason === 'quote')
  ok(q?.reasonSubject === P.p1.uri && q.record.text.startsWith('look'),
    'a notification carries its record and subject', q)
  const likes = await get('alice', 'app.bsky.notification.listNotifications',
    { reasons: 'like' })
  ok(likes.notifications.length === 3, 'reasons filters', likes)
  let c = await get('alice', 'app.bsky.notification.getUnreadCount', {})
  ok(c.count === want.length, 'getUnreadCount', c)
  const seen = new Date(Date.now() + 1000).toISOString()
  await agents.alice.app.bsky.notification.updateSeen({ seenAt: seen })
  c = await get('alice', 'app.bsky.notification.getUnreadCount', {})
  ok(c.count === 0, 'updateSeen: nothing unread', c)
  const n2 = await get('alice', 'app.bsky.notification.listNotifications', {})
  ok(n2.seenAt === seen && n2.notifications.every((x) => x.isRead),
    'read after updateSeen', n2.seenAt)
  // bob's like of p1 goes: so does its notification.
  await agents.bob.deleteLike(P.l_b1.uri)
  const n3 = await get('alice', 'app.bsky.notification.listNotifications',
    { reasons: 'like' })
  ok(n3.notifications.length === 2, 'a deleted like is no longer told')
})

await step('searchPosts', async () => {
  const z = await get('alice', 'app.bsky.feed.searchPosts', { q: 'zebra' })
  ok(z.posts.map((x) => x.uri).join() === P.p4.uri, 'full text', z)
  const t = await get('alice', 'app.bsky.feed.searchPosts',
    { q: 'hello', tag: 'intro' })
  ok(t.posts.map((x) => x.uri).join() === P.p1.uri, 'tag parameter', t)
  const h = await get('alice', 'app.bsky.feed.searchPosts', { q: '#gardening' })
  ok(h.posts.map((x) => x.uri).join() === P.p4.uri, '#tag in q', h)
  const a = await get('alice', 'app.bsky.feed.searchPosts',
    { q: 'alice', author: 'bob.test' })
  ok(same(a.posts.map((x) => x.uri), [P.p2.uri, P.r2.uri]), 'author', a)
  const f = await get('alice', 'app.bsky.feed.searchPosts',
    { q: 'from:carol.test' })
  ok(same(f.posts.map((x) => x.uri), [P.p3.uri, P.q1.uri]), 'from:', f)
  const u = await get('alice', 'app.bsky.feed.searchPosts',
    { q: 'zebra', until: '2000-01-01' })
  ok(u.posts.length === 0, 'until', u)
  const s = await get('alice', 'app.bsky.feed.searchPosts',
    { q: 'zebra', since: '2000-01-01' })
  ok(s.posts.length === 1, 'since', s)
  const odd = await get('alice', 'app.bsky.feed.searchPosts',
    { q: '"unbalanced AND OR (' })
  ok(odd.posts.length === 0, 'FTS syntax in q is only text', odd)
  const d = await get('alice', 'app.bsky.feed.searchPosts',
    { q: 'mistake' })
  ok(d.posts.length === 0, 'a deleted post is not found', d)
})

await step('bad inputs', async () => {
  await refused('alice', 'app.bsky.actor.getProfile', { actor: 'nobody.test' },
    400, 'InvalidRequest', 'Profile not found', 'unknown actor')
  await refused('alice', 'app.bsky.feed.getAuthorFeed', { actor: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' },
    400, 'InvalidRequest', 'Profile not found', 'unknown DID')
  await refused('alice', 'app.bsky.graph.getFollowers', { actor: 'not a handle' },
    400, 'InvalidRequest', undefined, 'malformed actor')
  await refused('alice', 'app.bsky.feed.getTimeline', { cursor: 'garbage' },
    400, 'InvalidRequest', 'Malformed cursor', 'bad cursor')
  await refused('alice', 'app.bsky.feed.getTimeline', { limit: 0 },
    400, 'InvalidRequest', undefined, 'limit 0')
  await refused('alice', 'app.bsky.notification.listNotifications',
    { limit: 101 }, 400, 'InvalidRequest', undefined, 'limit 101')
  await refused(null, 'app.bsky.feed.getTimeline', {}, 401,
    'AuthMissing', undefined, 'no token')
  await refused('alice', 'app.bsky.feed.getPostThread', { uri: 'nope' },
    400, 'InvalidRequest', undefined, 'malformed uri')
  const r = await xget('alice', 'app.bsky.feed.getLikes', { uri: P.pdel.uri })
  ok(r.status === 200 && r.body.likes.length === 0, 'likes of a deleted post')
})

done()
