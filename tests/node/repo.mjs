// The official client against pdsd's repository methods, as a client
// app uses them: sign up, log in, post, like, repost, follow, edit the
// profile, read and page through records, delete, applyWrites, swap
// conflicts, resume a session, log in again; then the exported
// repository is checked by @atproto/repo's verifier (commit signature
// against the DID document's key, every record).  Prints TAP.
//
//	node repo.mjs URL HANDLE PASSWORD
import { AtpAgent } from '@atproto/api'
import { Secp256k1Keypair } from '@atproto/crypto'
import { verifyRepoCar, verifyRecords, readCarWithRoot } from '@atproto/repo'

const [service, handle, password] = process.argv.slice(2)
let n = 0
let failed = 0

function ok(cond, desc, why) {
  n++
  if (cond) {
    console.log(`ok ${n} - ${desc}`)
  } else {
    failed++
    console.log(`not ok ${n} - ${desc}`)
    if (why !== undefined) console.log(`# ${JSON.stringify(why)}`)
  }
}

// The XRPC error name a call fails with, or null if it succeeds.
async function failsWith(p) {
  try {
    await p
    return null
  } catch (e) {
    return e.error ?? String(e)
  }
}

async function step(desc, fn) {
  try {
    await fn()
  } catch (e) {
    ok(false, desc, `${e.error ?? ''} ${e.message} ${e.stack}`)
  }
}

const POST = 'app.bsky.feed.post'
const signup = new AtpAgent({ service })
let did, agent

await step('createAccount', async () => {
  const r = await signup.createAccount({
    handle,
    password,
    email: `${handle}@example.com`,
  })
  did = r.data.did
  ok(did.startsWith('did:plc:'), 'createAccount')
})

await step('login', async () => {
  agent = new AtpAgent({ service })
  const r = await agent.login({ identifier: handle, password })
  ok(r.success && agent.session?.did === did, 'login')
})

const repo = () => agent.com.atproto.repo
let post
await step('post', async () => {
  post = await agent.post({ text: 'hello from the official client' })
  ok(post.uri.startsWith(`at://${did}/${POST}/`) && post.cid, 'agent.post')
})

await step('like, repost, follow', async () => {
  const like = await agent.like(post.uri, post.cid)
  const rp = await agent.repost(post.uri, post.cid)
  const f = await agent.follow(did)
  ok(like.uri.includes('/app.bsky.feed.like/') &&
    rp.uri.includes('/app.bsky.feed.repost/') &&
    f.uri.includes('/app.bsky.graph.follow/'), 'like, repost, follow')
})

await step('profile', async () => {
  await agent.upsertProfile((p) => ({ ...p, displayName: 'Carol' }))
  await agent.upsertProfile((p) => ({ ...p, description: 'edited' }))
  const r = await repo().getRecord({
    repo: did, collection: 'app.bsky.actor.profile', rkey: 'self',
  })
  ok(r.data.value.displayName === 'Carol' &&
    r.data.value.description === 'edited', 'upsertProfile twice', r.data)
})

await step('getRecord', async () => {
  const rkey = post.uri.split('/').pop()
  const r = await repo().getRecord({ repo: handle, collection: POST, rkey })
  ok(r.data.uri === post.uri && r.data.cid === post.cid &&
    r.data.value.text === 'hello from the official client' &&
    r.data.value.$type === POST, 'getRecord', r.data)
})

const made = []
await step('listRecords pages', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await repo().createRecord({
      repo: did, collection: POST,
      record: { $type: POST, text: `n${i}`, createdAt: new Date().toISOString() },
    })
    made.push(r.data.uri)
  }
  const pages = async (reverse) => {
    const seen = []
    let cursor
    for (let i = 0; i < 10; i++) {
      const r = await repo().listRecords({
        repo: did, collection: POST, limit: 2, cursor, reverse,
      })
      seen.push(...r.data.records.map((x) => x.uri))
      cursor = r.data.cursor
      if (r.data.records.length === 0) break
    }
    return seen
  }
  const down = await pages(false)
  const up = await pages(true)
  const all = [post.uri, ...made].sort()
  ok(JSON.stringify(down) === JSON.stringify([...all].reverse()),
    'listRecords pages newest first', down)
  ok(JSON.stringify(up) === JSON.stringify(all),
    'listRecords pages reversed', up)
})

await step('deletePost', async () => {
  await agent.deletePost(made[0])
  const e = await failsWith(repo().getRecord({
    repo: did, collection: POST, rkey: made[0].split('/').pop(),
  }))
  ok(e === 'RecordNotFound', 'deleted post is gone', e)
})

await step('applyWrites', async () => {
  const AW = 'com.atproto.repo.applyWrites'
  const r = await repo().applyWrites({
    repo: did,
    writes: [
      { $type: `${AW}#create`, collection: POST, rkey: 'aw1',
        value: { $type: POST, text: 'aw', createdAt: new Date().toISOString() } },
      { $type: `${AW}#update`, collection: POST, rkey: made[1].split('/').pop(),
        value: { $type: POST, text: 'updated', createdAt: new Date().toISOString() } },
      { $type: `${AW}#delete`, collection: POST, rkey: made[2].split('/').pop() },
    ],
  })
  const res = r.data.results
  ok(r.data.commit?.cid && res.length === 3 &&
    res[0].uri === `at://${did}/${POST}/aw1` &&
    res[1].$type === `${AW}#updateResult` &&
    res[2].$type === `${AW}#deleteResult`, 'applyWrites', r.data)
})

await step('swap conflicts', async () => {
  const rkey = made[3].split('/').pop()
  const cur = await repo().getRecord({ repo: did, collection: POST, rkey })
  const stale = (await repo().getRecord({ repo: did, collection: POST,
    rkey: post.uri.split('/').pop() })).data.cid
  const rec = { $type: POST, text: 'swap', createdAt: new Date().toISOString() }
  ok(await failsWith(repo().putRecord({ repo: did, collection: POST, rkey,
    record: rec, swapRecord: stale })) === 'InvalidSwap',
  'putRecord with a stale swapRecord: InvalidSwap')
  const head = (await agent.com.atproto.sync.getLatestCommit({ did })).data
  const p = await repo().putRecord({ repo: did, collection: POST, rkey,
    record: rec, swapRecord: cur.data.cid, swapCommit: head.cid })
  ok(p.data.commit?.rev > head.rev, 'putRecord with the right swaps')
  ok(await failsWith(repo().createRecord({ repo: did, collection: POST,
    record: rec, swapCommit: head.cid })) === 'InvalidSwap',
  'createRecord with a stale swapCommit: InvalidSwap')
  ok(await failsWith(repo().deleteRecord({ repo: did, collection: POST,
    rkey, swapRecord: stale })) === 'InvalidSwap',
  'deleteRecord with a stale swapRecord: InvalidSwap')
})

await step('resume and login again', async () => {
  const again = new AtpAgent({ service })
  await again.resumeSession(agent.session)
  const r = await again.com.atproto.repo.createRecord({
    repo: did, collection: POST,
    record: { $type: POST, text: 'resumed', createdAt: new Date().toISOString() },
  })
  ok(r.data.uri.startsWith(`at://${did}/`), 'resumed session writes')
  const third = new AtpAgent({ service })
  await third.login({ identifier: did, password })
  const d = await third.com.atproto.repo.describeRepo({ repo: did })
  ok(d.data.handle === handle && d.data.collections.includes(POST),
    'login again by DID, describeRepo', d.data)
})

// Every record of the repository, by listRecords.
async function listAll(collections) {
  const out = new Map()
  for (const collection of collections) {
    let cursor
    for (;;) {
      const r = await repo().listRecords({ repo: did, collection, limit: 100, cursor })
      for (const x of r.data.records) out.set(x.uri, x.cid)
      cursor = r.data.cursor
      if (r.data.records.length < 100) break
    }
  }
  return out
}

await step('getRepo verified', async () => {
  const desc = (await repo().describeRepo({ repo: did })).data
  const vm = desc.didDoc.verificationMethod.find((m) => m.id.endsWith('#atproto'))
  const key = `did:key:${vm.publicKeyMultibase}`
  const car = (await agent.com.atproto.sync.getRepo({ did })).data
  const v = await verifyRepoCar(car, did, key)
  const head = (await agent.com.atproto.sync.getLatestCommit({ did })).data
  ok(v.commit.cid.toString() === head.cid && v.commit.rev === head.rev,
    'getRepo: signed commit verifies against the DID document key')
  const listed = await listAll(desc.collections)
  const exported = new Map(v.creates.map((c) =>
    [`at://${did}/${c.collection}/${c.rkey}`, c.cid.toString()]))
  ok(listed.size >= 10 && listed.size === exported.size &&
    [...listed].every(([u, c]) => exported.get(u) === c),
  'getRepo: every record, as listRecords has it',
  { listed: listed.size, exported: exported.size })
  const other = (await Secp256k1Keypair.create()).did()
  ok(await failsWith(verifyRepoCar(car, did, other)) !== null,
    'getRepo: another key does not verify')
  const since = (await agent.com.atproto.sync.getRepo({ did, since: v.commit.rev })).data
  const s = await readCarWithRoot(since)
  ok(s.root.toString() === head.cid && s.blocks.size === 0,
    'getRepo since the head: the root alone', s.blocks.size)
})

await step('sync.getRecord proof', async () => {
  const desc = (await repo().describeRepo({ repo: did })).data
  const vm = desc.didDoc.verificationMethod.find((m) => m.id.endsWith('#atproto'))
  const key = `did:key:${vm.publicKeyMultibase}`
  const rkey = post.uri.split('/').pop()
  const car = (await agent.com.atproto.sync.getRecord({ did, collection: POST, rkey })).data
  const claims = await verifyRecords(car, did, key)
  const c = claims.find((x) => x.rkey === rkey)
  ok(c && c.record?.text === 'hello from the official client',
    'sync.getRecord: the record, proven by the signed commit', claims)
  const gone = (await agent.com.atproto.sync.getRecord({
    did, collection: POST, rkey: made[0].split('/').pop() })).data
  const none = await verifyRecords(gone, did, key)
  ok(none.every((x) => x.rkey !== made[0].split('/').pop() || x.record === null),
    'sync.getRecord: a proof of absence for a deleted record', none)
})

console.log(`1..${n}`)
process.exit(failed === 0 ? 0 : 1)
