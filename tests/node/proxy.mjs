// The app.bsky side of pdsd with @atproto/api, against a fake AppView
// on loopback that checks every call pdsd forwards: the service token's
// signature against the caller's DID document key (@atproto/crypto),
// its iss, aud, lxm and lifetime, the path, query, body and forwarded
// headers; its answers must reach the client unchanged.  Prints TAP.
//
//	node proxy.mjs local URL FAKEPORT	pdsd with no appview
//	node proxy.mjs proxy URL FAKEPORT	"appview ... did ..." set
//
// In "local" pdsd keeps preferences and mutes itself, and only the
// atproto-proxy header sends calls to the fake (a did:web served by the
// fake itself).  In "proxy" every app.bsky call but the preferences
// goes to the configured AppView.  Both runs share one data directory:
// the accounts of the first are logged in again by the second.
import http from 'node:http'
import { createHash } from 'node:crypto'
import { AtpAgent } from '@atproto/api'
import { verifySignature } from '@atproto/crypto'
import { done, ok, step } from './tap.mjs'

const [mode, service, fakePort] = process.argv.slice(2)
const FAKE = `http://127.0.0.1:${fakePort}`
const FAKE_DID = `did:web:localhost%3A${fakePort}`
const BIG = 3 * 1024 * 1024

// The fake AppView: every request it saw, and what it answers.
const seen = []
const doc = {
  '@context': ['https://www.w3.org/ns/did/v1'],
  id: FAKE_DID,
  service: [
    { id: '#bsky_appview', type: 'BskyAppView', serviceEndpoint: FAKE },
    { id: `${FAKE_DID}#other_svc`, type: 'Other', serviceEndpoint: `${FAKE}/` },
    { id: '#dead_svc', type: 'Other', serviceEndpoint: 'http://127.0.0.1:1' },
  ],
}
const bigBody = Buffer.alloc(BIG, 'x')
const fake = http.createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const url = new URL(req.url, FAKE)
    if (url.pathname === '/.well-known/did.json') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(doc))
      return
    }
    seen.push({
      method: req.method, path: url.pathname, query: url.search,
      headers: req.headers, body: Buffer.concat(chunks).toString(),
    })
    const nsid = url.pathname.replace('/xrpc/', '')
    if (nsid === 'app.bsky.feed.getFeed') {
      res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'Boom', message: 'it broke' }))
    } else if (nsid === 'app.bsky.feed.searchPosts') {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'BadQueryString', message: 'no q' }))
    } else if (nsid === 'app.bsky.unspecced.getBig') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      // In pieces, so the answer streams through pdsd.
      let off = 0
      const more = () => {
        while (off < BIG) {
          const n = Math.min(65536, BIG - off)
          const ok2 = res.write(bigBody.subarray(off, off + n))
          off += n
          if (!ok2) return res.once('drain', more)
        }
        res.end()
      }
      more()
    } else if (req.method === 'POST') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ echoed: JSON.parse(req.body ?? (Buffer.concat(chunks).toString() || '{}')) }))
    } else {
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'atproto-repo-rev': '3kfakerev22',
        'content-language': 'fr',
        'x-not-forwarded': 'no',
      })
      res.end(JSON.stringify({ feed: [], cursor: `fake:${nsid}${url.search}` }))
    }
  })
})
await new Promise((r) => fake.listen(Number(fakePort), '127.0.0.1', r))

function claims(jwt) {
  const [h, p] = jwt.split('.')
  return {
    header: JSON.parse(Buffer.from(h, 'base64url')),
    payload: JSON.parse(Buffer.from(p, 'base64url')),
  }
}

// The last forwarded call: its token verified against key (did:key).
async function checkToken(desc, key, iss, aud, lxm) {
  const r = seen.at(-1)
  const auth = r?.headers.authorization ?? ''
  const jwt = auth.replace(/^Bearer /, '')
  const { header, payload } = claims(jwt)
  const [h, p, s] = jwt.split('.')
  const good = await verifySignature(key, Buffer.from(`${h}.${p}`),
    Buffer.from(s, 'base64url'))
  const now = Math.floor(Date.now() / 1000)
  ok(auth.startsWith('Bearer ') && header.alg === 'ES256K' && good &&
    payload.iss === iss && payload.aud === aud && payload.lxm === lxm &&
    payload.exp > now && payload.exp - now <= 120,
  `${desc}: service token signed by the account key, iss/aud/lxm/exp`,
  { header, payload, good })
}

async function outcome(p) {
  try {
    await p
    return 'ok'
  } catch (e) {
    return `${e.status} ${e.error} ${e.message}`
  }
}

async function raw(path, init = {}) {
  const r = await fetch(`${service}${path}`, init)
  const text = await r.text()
  let o = {}
  try { o = JSON.parse(text) } catch {}
  return { status: r.status, headers: r.headers, text, o }
}

const alice = new AtpAgent({ service })
const bob = new AtpAgent({ service })
if (mode === 'local') {
  await alice.createAccount({ handle: 'alice.test', email: 'a@example.com', password: 'pw-alice' })
  await bob.createAccount({ handle: 'bob.test', email: 'b@example.com', password: 'pw-bob' })
} else {
  await alice.login({ identifier: 'alice.test', password: 'pw-alice' })
  await bob.login({ identifier: 'bob.test', password: 'pw-bob' })
}
const aliceDid = alice.session.did
const bobDid = bob.session.did
const sess = await alice.com.atproto.server.getSession()
const key = 'did:key:' + sess.data.didDoc.verificationMethod
  .find((v) => v.id.endsWith('#atproto')).publicKeyMultibase
const auth = { authorization: `Bearer ${alice.session.accessJwt}` }
const T = 'app.bsky.actor.defs#'

await step('preferences round trip', async () => {
  const prefs = [
    { $type: `${T}adultContentPref`, enabled: true },
    { $type: `${T}savedFeedsPrefV2`, items: [{ id: '1', type: 'timeline', value: 'following', pinned: true }] },
    { $type: `${T}personalDetailsPref`, birthDate: '2000-01-01T00:00:00.000Z' },
    { $type: `${T}declaredAgePref`, isOverAge13: false },
  ]
  const before = seen.length
  await alice.app.bsky.actor.putPreferences({ preferences: prefs })
  const got = (await alice.app.bsky.actor.getPreferences()).data.preferences
  ok(seen.length === before, `${mode}: preferences never leave pdsd`)
  ok(JSON.stringify(got.slice(0, 3)) === JSON.stringify(prefs.slice(0, 3)),
    `${mode}: preferences come back as put, in order`, got)
  ok(JSON.stringify(got[3]) === JSON.stringify({ $type: `${T}declaredAgePref`, isOverAge13: true, isOverAge16: true, isOverAge18: true }),
    `${mode}: declaredAgePref computed from the birth date, never stored`, got[3])
  const p = await alice.getPreferences()
  ok(p.moderationPrefs.adultContentEnabled === true &&
    p.birthDate?.toISOString() === '2000-01-01T00:00:00.000Z',
  `${mode}: agent.getPreferences reads them`, p)
})

await step('preferences refusals', async () => {
  ok(await outcome(alice.app.bsky.actor.putPreferences({ preferences: [{ $type: 'com.example.pref', x: 1 }] })) ===
    '400 InvalidRequest Some preferences are not in the app.bsky namespace',
    `${mode}: another namespace refused`)
  const r = await raw('/xrpc/app.bsky.actor.putPreferences', {
    method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ preferences: [{ enabled: true }] }),
  })
  ok(r.status === 400 && r.o.message === 'Preference is missing a $type',
    `${mode}: a preference without $type refused`, r.o)
  const r2 = await raw('/xrpc/app.bsky.actor.putPreferences', {
    method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ nope: [] }),
  })
  ok(r2.status === 400 && r2.o.error === 'InvalidRequest', `${mode}: no preferences key refused`, r2.o)
  const r3 = await raw('/xrpc/app.bsky.actor.putPreferences', {
    method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ preferences: [], pad: 'x'.repeat(200 * 1024) }),
  })
  ok(r3.status === 413, `${mode}: a body over the size cap refused`, r3.status)
  // An app password neither sees nor sets the birth date.
  const ap = await alice.com.atproto.server.createAppPassword({ name: `ap-${mode}` })
  const app = new AtpAgent({ service })
  await app.login({ identifier: 'alice.test', password: ap.data.password })
  const seenByApp = (await app.app.bsky.actor.getPreferences()).data.preferences
  ok(!seenByApp.some((p) => p.$type === `${T}personalDetailsPref`) &&
    seenByApp.some((p) => p.$type === `${T}declaredAgePref`),
  `${mode}: app password: no personalDetailsPref, but declaredAgePref`, seenByApp)
  ok(await outcome(app.app.bsky.actor.putPreferences({ preferences: [{ $type: `${T}personalDetailsPref`, birthDate: '2010-01-01T00:00:00.000Z' }] })) ===
    `400 InvalidRequest Do not have authorization to set preferences: ${T}personalDetailsPref`,
    `${mode}: app password may not set personalDetailsPref`)
  await app.app.bsky.actor.putPreferences({ preferences: [{ $type: `${T}adultContentPref`, enabled: false }] })
  const after = (await alice.app.bsky.actor.getPreferences()).data.preferences
  ok(after.length === 3 && after[0].$type === `${T}personalDetailsPref` &&
    after[1].enabled === false,
  `${mode}: an app password's put keeps the birth date`, after)
  ok(await outcome(new AtpAgent({ service }).app.bsky.actor.getPreferences()) ===
    '401 AuthMissing Authentication Required', `${mode}: preferences need a session`)
})

if (mode === 'local') {
  await step('mutes round trip', async () => {
    await alice.mute('bob.test')
    await alice.mute('did:plc:aaaaaaaaaaaaaaaaaaaaaaaa')
    let m = (await alice.app.bsky.graph.getMutes()).data
    ok(m.mutes.length === 2 && m.mutes[0].did === 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' &&
      m.mutes[0].handle === 'handle.invalid' && m.mutes[1].did === bobDid &&
      m.mutes[1].handle === 'bob.test' && m.mutes[1].viewer.muted === true,
    'getMutes: newest first, local handles, viewer.muted', m)
    const page = (await alice.app.bsky.graph.getMutes({ limit: 1 })).data
    const page2 = (await alice.app.bsky.graph.getMutes({ limit: 1, cursor: page.cursor })).data
    ok(page.mutes.length === 1 && page.cursor && page2.mutes[0].did === bobDid,
      'getMutes pages with its cursor', [page, page2])
    ok((await bob.app.bsky.graph.getMutes()).data.mutes.length === 0,
      'mutes are per account')
    await bob.upsertProfile(() => ({ displayName: 'Bob B.' }))
    m = (await alice.app.bsky.graph.getMutes()).data
    ok(m.mutes[1].displayName === 'Bob B.', 'getMutes shows a local profile\'s displayName', m.mutes[1])
    await alice.unmute('bob.test')
    m = (await alice.app.bsky.graph.getMutes()).data
    ok(m.mutes.length === 1 && m.mutes[0].did !== bobDid, 'unmute removes it', m)
    ok(await outcome(alice.mute('alice.test')) === '400 InvalidRequest Cannot mute oneself',
      'muting oneself refused')
    ok(await outcome(alice.mute('nobody.test')) === '400 InvalidRequest Actor not found',
      'muting an unknown handle refused')
    const list = `at://${bobDid}/app.bsky.graph.list/3kaaaaaaaaaa2`
    await alice.app.bsky.graph.muteActorList({ list })
    await alice.app.bsky.graph.unmuteActorList({ list })
    ok(true, 'muteActorList and unmuteActorList answer')
  })

  await step('no appview: local answers or no service', async () => {
    const r = await raw('/xrpc/app.bsky.feed.getFeedGenerator?feed=x', { headers: auth })
    ok(r.status === 400 && r.o.error === 'InvalidRequest' && seen.length === 0,
      'an app.bsky method nobody answers: 400, nothing forwarded', r.o)
  })
}

await step('atproto-proxy header', async () => {
  const hdr = { 'atproto-proxy': `${FAKE_DID}#other_svc` }
  const r = await raw('/xrpc/app.bsky.feed.getTimeline?limit=7&cursor=a%20b', {
    headers: { ...auth, ...hdr, 'accept-language': 'de', 'atproto-accept-labelers': 'did:plc:lab', 'x-secret': 'no' },
  })
  const f = seen.at(-1)
  ok(r.status === 200 && r.o.cursor === 'fake:app.bsky.feed.getTimeline?limit=7&cursor=a%20b',
    `${mode}: header: the fake's answer arrives unchanged`, r)
  ok(f.path === '/xrpc/app.bsky.feed.getTimeline' && f.query === '?limit=7&cursor=a%20b' &&
    f.headers['accept-language'] === 'de' && f.headers['atproto-accept-labelers'] === 'did:plc:lab' &&
    f.headers['x-secret'] === undefined && f.headers['atproto-proxy'] === undefined,
  `${mode}: header: path, query and the reference's headers forwarded, no others`, f)
  ok(r.headers.get('atproto-repo-rev') === '3kfakerev22' && r.headers.get('content-language') === 'fr' &&
    r.headers.get('x-not-forwarded') === null,
  `${mode}: header: the reference's answer headers come back`)
  await checkToken(`${mode}: header`, key, aliceDid, FAKE_DID, 'app.bsky.feed.getTimeline')

  const p = await alice.app.bsky.graph.muteActor({ actor: bobDid }, { headers: hdr })
  const fp = seen.at(-1)
  ok(fp.method === 'POST' && JSON.parse(fp.body).actor === bobDid &&
    fp.headers['content-type'].startsWith('application/json'),
  `${mode}: header: a POST body and its type forwarded`, fp)
  ok(p.success, `${mode}: header: the POST's answer arrives`)

  const before = seen.length
  const prefs = await raw('/xrpc/app.bsky.actor.getPreferences', { headers: { ...auth, ...hdr } })
  ok(prefs.status === 200 && seen.length === before + 1 && seen.at(-1).path === '/xrpc/app.bsky.actor.getPreferences',
    `${mode}: getPreferences with another service in the header goes there`, prefs.o)

  const chat = await raw('/xrpc/chat.bsky.convo.listConvos', { headers: { ...auth, ...hdr } })
  ok(chat.status === 200 && seen.at(-1).path === '/xrpc/chat.bsky.convo.listConvos',
    `${mode}: chat.bsky with the header goes to the named service`, chat.o)
  await checkToken(`${mode}: chat`, key, aliceDid, FAKE_DID, 'chat.bsky.convo.listConvos')
})

await step('atproto-proxy refusals', async () => {
  const cases = [
    [`${FAKE_DID}#nope`, 'could not resolve proxy did service url'],
    [`#bsky_appview`, 'no did specified in proxy header'],
    [`${FAKE_DID}`, 'no service id specified in proxy header'],
    [`${FAKE_DID}#a#b`, 'invalid proxy header format'],
    [`did:web:nothing.invalid#x`, 'could not resolve proxy did'],
  ]
  for (const [h, msg] of cases) {
    const r = await raw('/xrpc/app.bsky.feed.getTimeline', { headers: { ...auth, 'atproto-proxy': h } })
    ok(r.status === 400 && r.o.error === 'InvalidRequest' && r.o.message === msg,
      `${mode}: atproto-proxy "${h}": ${msg}`, r.o)
  }
  const dead = await raw('/xrpc/app.bsky.feed.getTimeline', { headers: { ...auth, 'atproto-proxy': `${FAKE_DID}#dead_svc` } })
  ok(dead.status === 502 && dead.o.error === 'UpstreamFailure' && dead.o.message === 'Upstream service unreachable',
    `${mode}: upstream down: 502 UpstreamFailure`, dead.o)
  const anon = await raw('/xrpc/app.bsky.feed.getTimeline', { headers: { 'atproto-proxy': `${FAKE_DID}#other_svc` } })
  ok(anon.status === 401, `${mode}: proxying needs a session`, anon.o)
  const prot = await raw('/xrpc/com.atproto.server.fakeThing', { headers: { ...auth, 'atproto-proxy': `${FAKE_DID}#other_svc` } })
  ok(prot.status === 200 && seen.at(-1).path === '/xrpc/com.atproto.server.fakeThing',
    `${mode}: a method pdsd lacks goes to the header's service`, prot.o)
  const local = await raw('/xrpc/com.atproto.server.describeServer', { headers: { 'atproto-proxy': `${FAKE_DID}#other_svc` } })
  ok(local.status === 200 && local.o.did !== undefined, `${mode}: what pdsd answers itself stays local`, local.o)
})

if (mode === 'proxy') {
  await step('configured appview', async () => {
    const tl = await alice.app.bsky.feed.getTimeline({ limit: 5 })
    ok(tl.data.cursor === 'fake:app.bsky.feed.getTimeline?limit=5',
      'getTimeline goes to the AppView and its answer comes back', tl.data)
    await checkToken('appview', key, aliceDid, FAKE_DID, 'app.bsky.feed.getTimeline')
    await alice.mute('bob.test')
    ok(seen.at(-1).path === '/xrpc/app.bsky.graph.muteActor' &&
      JSON.parse(seen.at(-1).body).actor === 'bob.test',
    'with an AppView, muteActor goes there (as the reference)', seen.at(-1))
    await checkToken('appview POST', key, aliceDid, FAKE_DID, 'app.bsky.graph.muteActor')
    ok(await outcome(alice.app.bsky.feed.getFeed({ feed: 'at://x/y/z' })) === '502 Boom it broke',
      'an upstream 500 becomes 502 with its error and message')
    ok(await outcome(alice.app.bsky.feed.searchPosts({ q: 'x' })) === '400 BadQueryString no q',
      'an upstream 400 passes through')
    const hdr = await raw('/xrpc/app.bsky.actor.getPreferences', {
      headers: { ...auth, 'atproto-proxy': `${FAKE_DID}#bsky_appview` },
    })
    ok(hdr.status === 200 && Array.isArray(hdr.o.preferences) &&
      seen.at(-1).path !== '/xrpc/app.bsky.actor.getPreferences',
    'getPreferences naming the configured AppView stays local', hdr.o)
    const big = await raw('/xrpc/app.bsky.unspecced.getBig', { headers: auth })
    ok(big.status === 200 && big.text.length === BIG &&
      createHash('sha256').update(big.text).digest('hex') ===
      createHash('sha256').update(bigBody).digest('hex'),
    'a 3 MB answer streams through whole', big.text.length)
    // A slow client: read nothing for a while; pdsd must hold it.
    const slow = await fetch(`${service}/xrpc/app.bsky.unspecced.getBig`, { headers: auth })
    await new Promise((r) => setTimeout(r, 500))
    const buf = Buffer.from(await slow.arrayBuffer())
    ok(buf.length === BIG, 'a client that reads late still gets all of it', buf.length)
    const anon = await raw('/xrpc/app.bsky.feed.getTimeline')
    ok(anon.status === 401 && anon.o.error === 'AuthMissing', 'no session: 401 AuthMissing', anon.o)
    const bad = await raw('/xrpc/app.bsky.feed.getTimeline', { method: 'PUT', headers: auth })
    ok(bad.status === 400 && bad.o.message === 'XRPC requests only supports GET and POST',
      'PUT refused as the reference does', bad.o)
    const prot = await raw('/xrpc/com.atproto.server.requestEmailUpdate2', { headers: auth })
    ok(prot.status === 200, 'an unknown com.atproto method goes to the AppView', prot.o)
  })
}

fake.close()
done()
