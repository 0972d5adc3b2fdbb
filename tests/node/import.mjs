// com.atproto.repo.importRepo as an account migrating in uses it: a
// repository built and signed by @atproto/repo (a key pdsd does not
// hold) is imported with @atproto/api; getRepo must give back that
// commit, verified by @atproto/repo, with the same records; a local
// write lands on top; an older CAR imported again is taken, and the
// next write is newer than every head before it; bad CARs answer 400 and change nothing; no token answers 401;
// a deactivated account may import.  Prints TAP.
//
//	node import.mjs URL HANDLE PASSWORD
import { AtpAgent } from '@atproto/api'
import { Secp256k1Keypair } from '@atproto/crypto'
import { cborEncode } from '@atproto/common'
import {
  MemoryBlockstore,
  Repo,
  WriteOpAction,
  getFullRepo,
  readCarWithRoot,
  verifyRepoCar,
} from '@atproto/repo'
import { CID } from 'multiformats/cid'
import { ok, step, done } from './tap.mjs'

const [service, handle, password] = process.argv.slice(2)
const POST = 'app.bsky.feed.post'
const CAR = 'application/vnd.ipld.car'
const BLOB = 'bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy'

const agent = new AtpAgent({ service })
await agent.login({ identifier: handle, password })
const did = agent.session.did

async function carOf(storage, root) {
  const parts = []
  for await (const p of getFullRepo(storage, root)) parts.push(p)
  return Buffer.concat(parts)
}

async function importCar(a, bytes) {
  return a.com.atproto.repo.importRepo(bytes, { encoding: CAR })
}

// The status and error name a call fails with, or null.
async function failure(p) {
  try {
    await p
    return null
  } catch (e) {
    return `${e.status} ${e.error}`
  }
}

async function exported() {
  const r = await agent.com.atproto.sync.getRepo({ did })
  return Buffer.from(r.data)
}

async function head() {
  return (await agent.com.atproto.sync.getLatestCommit({ did })).data
}

const sortKeys = (l) =>
  l.map((c) => `${c.collection}/${c.rkey} ${c.cid}`).sort()

// Two states of one repository, signed by a key of the old host.
const key = await Secp256k1Keypair.create()
const storage = new MemoryBlockstore()
const S32 = '234567abcdefghijklmnopqrstuvwxyz'
const posts = Array.from({ length: 300 }, (_, i) => ({
  action: WriteOpAction.Create,
  collection: POST,
  rkey: `3kaaaaaa${S32[(i >> 10) & 31]}${S32[(i >> 5) & 31]}${S32[i & 31]}aa`,
  record: {
    $type: POST,
    text: `migrated post ${i} \u00e9`,
    createdAt: '2024-01-01T00:00:00.000Z',
  },
}))
const repo1 = await Repo.create(storage, did, key, posts)
const car1 = await carOf(storage, repo1.cid)
const repo2 = await repo1.applyWrites(
  [
    {
      action: WriteOpAction.Create,
      collection: 'app.bsky.actor.profile',
      rkey: 'self',
      record: {
        $type: 'app.bsky.actor.profile',
        displayName: 'Migrated',
        avatar: {
          $type: 'blob',
          ref: CID.parse(BLOB),
          mimeType: 'image/png',
          size: 1234,
        },
      },
    },
    { action: WriteOpAction.Delete, collection: POST, rkey: posts[0].rkey },
  ],
  key,
)
const car2 = await carOf(storage, repo2.cid)
const want2 = sortKeys((await verifyRepoCar(car2, did, key.did())).creates)

let rev2
await step('import a repository signed elsewhere', async () => {
  const r = await importCar(agent, car2)
  ok(r.success, 'importRepo of a 300-record CAR signed by another key')
  const h = await head()
  rev2 = h.rev
  ok(h.cid === repo2.cid.toString() && h.rev === repo2.commit.rev,
    'getLatestCommit: the imported commit and its rev', h)
})

await step('getRepo after the import', async () => {
  const car = await exported()
  const { root, blocks } = await readCarWithRoot(car)
  ok(root.toString() === repo2.cid.toString(), 'getRepo is rooted at the imported commit')
  const loaded = await Repo.load(new MemoryBlockstore(blocks), root)
  ok(loaded.commit.data.toString() === repo2.commit.data.toString(),
    'the data root is the imported one')
  const v = await verifyRepoCar(car, did, key.did())
  const got = sortKeys(v.creates)
  ok(got.length === 300 && JSON.stringify(got) === JSON.stringify(want2),
    '@atproto/repo verifies the export: the same 300 records', got.length)
  const rec = await agent.com.atproto.repo.getRecord({
    repo: did, collection: 'app.bsky.actor.profile', rkey: 'self' })
  ok(rec.data.value.displayName === 'Migrated', 'getRecord reads an imported record')
})

await step('listMissingBlobs', async () => {
  const r = await agent.com.atproto.repo.listMissingBlobs({})
  ok(r.data.blobs.length === 1 && r.data.blobs[0].cid === BLOB &&
    r.data.blobs[0].recordUri === `at://${did}/app.bsky.actor.profile/self`,
  'the blob an imported record names is missing', r.data)
})

let revW
await step('a local write after the import', async () => {
  const r = await agent.com.atproto.repo.createRecord({
    repo: did, collection: POST,
    record: { $type: POST, text: 'after import', createdAt: new Date().toISOString() },
  })
  revW = r.data.commit.rev
  ok(revW > rev2, 'a local write gets a rev above the imported one', [revW, rev2])
  const v = await verifyRepoCar(await exported(), did)
  ok(v.creates.length === 301, 'the export holds the write on top', v.creates.length)
})

await step('an older CAR imported again', async () => {
  const r = await importCar(agent, car1)
  ok(r.success, 'importRepo of an older state of the repository')
  const h = await head()
  ok(h.cid === repo1.cid.toString() && h.rev === repo1.commit.rev,
    'getLatestCommit: the older commit and its own rev', h)
  const v = await verifyRepoCar(await exported(), did, key.did())
  ok(v.creates.length === 300 && !v.creates.some((c) => c.rkey === 'self'),
    'the export is the older state', v.creates.length)
  const m = await agent.com.atproto.repo.listMissingBlobs({})
  ok(m.data.blobs.length === 0, 'the older state names no blob', m.data)
  const w = await agent.com.atproto.repo.createRecord({
    repo: did, collection: POST,
    record: { $type: POST, text: 'after the second import', createdAt: new Date().toISOString() },
  })
  ok(w.data.commit.rev > h.rev && w.data.commit.rev > revW,
    'the next write is newer than both the old head and the imported one',
    [w.data.commit.rev, h.rev, revW])
})

// Bad CARs.  The header of car2 with two roots; a block flipped.
function varint(n) {
  const b = []
  while (n >= 0x80) { b.push((n & 0x7f) | 0x80); n >>>= 7 }
  b.push(n)
  return Buffer.from(b)
}
function headerEnd(car) {
  let n = 0, s = 0, i = 0
  for (;; i++) { n |= (car[i] & 0x7f) << s; s += 7; if (!(car[i] & 0x80)) break }
  return i + 1 + n
}
const twoHeader = Buffer.from(cborEncode({ version: 1, roots: [repo2.cid, repo1.cid] }))
const twoRoots = Buffer.concat([varint(twoHeader.length), twoHeader, car2.subarray(headerEnd(car2))])
const flipped = Buffer.from(car2)
flipped[flipped.length - 3] ^= 1
const bad = [
  ['bytes that are not a CAR', Buffer.from('this is not a CAR file')],
  ['a CAR with two roots', twoRoots],
  ['a truncated CAR', car2.subarray(0, car2.length - 40)],
  ['a block that does not match its CID', flipped],
  ['a CAR holding no commit', Buffer.concat([varint(twoHeader.length), twoHeader])],
]
await step('bad CARs', async () => {
  const before = await exported()
  const hb = await head()
  for (const [what, bytes] of bad) {
    const f = await failure(importCar(agent, bytes))
    ok(f === '400 InvalidRequest', `${what}: 400 InvalidRequest`, f)
  }
  const after = await exported()
  ok(Buffer.compare(before, after) === 0 &&
    JSON.stringify(await head()) === JSON.stringify(hb),
  'after the bad CARs, the repository is unchanged')
})

await step('no token', async () => {
  const anon = new AtpAgent({ service })
  const f = await failure(importCar(anon, car1))
  ok(f === '401 AuthMissing', 'importRepo without a token: 401 AuthMissing', f)
})

await step('a deactivated account may import', async () => {
  await agent.com.atproto.server.deactivateAccount({})
  const r = await importCar(agent, car2)
  ok(r.success, 'importRepo while deactivated, as in a migration')
  await agent.com.atproto.server.activateAccount()
  const h = await head()
  ok(h.cid === repo2.cid.toString() && h.rev === repo2.commit.rev,
    'after activation: the imported commit', h)
})

done()
