// Records with the same content share one block, whose row counts the
// records pointing at it (repo_block.refs): it must stay while one is
// left and go with the last.  After every step each record still reads
// (repo.getRecord, sync.getRecord) and getRepo's CAR verifies with
// @atproto/repo holding exactly the records listRecords lists; in the
// database, read beside the running daemon, every block's count is the
// number of its records, no record lacks its block, and the blocks of
// contents no record has any more are gone.  Prints TAP.
//
//	node block_refs.mjs URL DB HANDLE PASSWORD HANDLE2 PASSWORD2
import { execFileSync } from 'node:child_process'
import { AtpAgent } from '@atproto/api'
import { Secp256k1Keypair } from '@atproto/crypto'
import {
  MemoryBlockstore,
  Repo,
  WriteOpAction,
  getFullRepo,
  verifyRepoCar,
} from '@atproto/repo'
import { ok, step, done } from './tap.mjs'

const [service, db, handle, password, handle2, password2] =
  process.argv.slice(2)
const C = 'com.example.thing'
const CAR = 'application/vnd.ipld.car'

const sql = (q) => execFileSync('sqlite3', [db, q]).toString().trim()
const thing = (s) => ({ $type: C, s })

async function login(h, pw) {
  const a = new AtpAgent({ service })
  await a.login({ identifier: h, password: pw })
  return a
}
const alice = await login(handle, password)
const bob = await login(handle2, password2)

// The count of the block of cid in the repository of did, or null.
function refs(did, cid) {
  const v = sql(`SELECT refs FROM repo_block WHERE did = '${did}' AND ` +
    `cid = '${cid}'`)
  return v === '' ? null : Number(v)
}

// What holds whatever the step: counts right, no record without its
// block, every record readable and in a CAR that verifies.
async function consistent(a, what) {
  const did = a.session.did
  const bad = sql('SELECT count(*) FROM repo_block b WHERE refs != ' +
    '(SELECT count(*) FROM record r WHERE r.did = b.did AND r.cid = b.cid)')
  const lost = sql('SELECT count(*) FROM record r WHERE NOT EXISTS ' +
    '(SELECT 1 FROM repo_block b WHERE b.did = r.did AND b.cid = r.cid)')
  ok(bad === '0' && lost === '0',
    `${what}: each block counts its records, each record has its block`,
    { bad, lost })
  const list = (await a.com.atproto.repo.listRecords({
    repo: did, collection: C, limit: 100,
  })).data.records
  let reads = 0
  for (const r of list) {
    const rkey = r.uri.split('/').pop()
    const g = await a.com.atproto.repo.getRecord({ repo: did, collection: C,
      rkey })
    const s = await a.com.atproto.sync.getRecord({ did, collection: C, rkey })
    if (g.data.cid === r.cid && g.data.value.s === r.value.s &&
        s.data.length > 0)
      reads++
  }
  const car = Buffer.from((await a.com.atproto.sync.getRepo({ did })).data)
  const v = await verifyRepoCar(car, did)
  const inCar = v.creates.filter((c) => c.collection === C)
    .map((c) => `${c.rkey} ${c.cid}`).sort().join()
  const listed = list.map((r) => `${r.uri.split('/').pop()} ${r.cid}`)
    .sort().join()
  ok(reads === list.length && inCar === listed,
    `${what}: every record reads, getRepo verifies with all of them`,
    { reads, n: list.length, inCar, listed })
}

async function create(a, rkey, record) {
  return (await a.com.atproto.repo.createRecord({ repo: a.session.did,
    collection: C, rkey, record })).data.cid
}

async function apply(a, writes) {
  return a.com.atproto.repo.applyWrites({ repo: a.session.did,
    writes: writes.map(([op, rkey, value]) => ({
      $type: `com.atproto.repo.applyWrites#${op}`, collection: C, rkey,
      ...(value ? { value } : {}),
    })) })
}

const A = alice.session.did
let same, other

await step('two records of the same content', async () => {
  same = await create(alice, 'one', thing('same'))
  const c2 = await create(alice, 'two', thing('same'))
  ok(c2 === same && refs(A, same) === 2,
    'one block for both, counted twice', { same, c2, n: refs(A, same) })
  await consistent(alice, 'two of one content')
})

await step('one of them deleted', async () => {
  await alice.com.atproto.repo.deleteRecord({ repo: A, collection: C,
    rkey: 'one' })
  ok(refs(A, same) === 1, 'the block stays, counted once', refs(A, same))
  await consistent(alice, 'one deleted')
})

await step('a record updated to the same content as another', async () => {
  other = await create(alice, 'three', thing('other'))
  ok(refs(A, other) === 1, 'a new content: counted once')
  await alice.com.atproto.repo.putRecord({ repo: A, collection: C,
    rkey: 'three', record: thing('same') })
  ok(refs(A, same) === 2 && refs(A, other) === null,
    'the content it took is counted twice, the one it left is gone',
    { same: refs(A, same), other: refs(A, other) })
  await consistent(alice, 'updated to the same content')
})

await step('both deleted in one applyWrites', async () => {
  await apply(alice, [['delete', 'two'], ['delete', 'three']])
  ok(refs(A, same) === null, 'the block went with its last record',
    refs(A, same))
  await consistent(alice, 'both deleted')
})

await step('applyWrites creating and deleting one content', async () => {
  const r = await apply(alice, [['create', 'a', thing('w')],
    ['create', 'b', thing('w')]])
  const w = r.data.results[0].cid
  ok(refs(A, w) === 2, 'two creates in one call: counted twice')
  // One more record of w and one fewer: the count does not move.
  await apply(alice, [['create', 'c', thing('w')], ['delete', 'a']])
  ok(refs(A, w) === 2, 'create and delete of the content in one call',
    refs(A, w))
  // A record written and deleted by the same call leaves no block.
  const r2 = await apply(alice, [['create', 'd', thing('fleeting')],
    ['delete', 'd']])
  const f = r2.data.results[0].cid
  ok(f && refs(A, f) === null, 'a content created and deleted at once ' +
    'is not stored', { f, n: refs(A, f) })
  // An update to the content it has, and one away and back.
  await apply(alice, [['update', 'b', thing('w')]])
  ok(refs(A, w) === 2, 'an update to the same content', refs(A, w))
  await apply(alice, [['update', 'b', thing('x')], ['update', 'b',
    thing('w')], ['update', 'c', thing('x')]])
  const x = sql(`SELECT cid FROM record WHERE did = '${A}' AND rkey = 'c'`)
  ok(refs(A, w) === 1 && refs(A, x) === 1,
    'a key written twice in one call counts once',
    { w: refs(A, w), x: refs(A, x) })
  await consistent(alice, 'applyWrites')
  await apply(alice, [['delete', 'b'], ['delete', 'c']])
  ok(refs(A, w) === null && refs(A, x) === null, 'all deleted: no block')
  await consistent(alice, 'applyWrites, all deleted')
})

await step('import of a CAR with records of equal content', async () => {
  const B = bob.session.did
  const key = await Secp256k1Keypair.create()
  const storage = new MemoryBlockstore()
  const writes = ['k1', 'k2', 'k3', 'k4', 'k5'].map((rkey, i) => ({
    action: WriteOpAction.Create, collection: C, rkey,
    record: thing(i < 3 ? 'triple' : i < 4 ? 'single' : 'triple'),
  }))
  writes.push({ action: WriteOpAction.Create, collection: C, rkey: 'k6',
    record: thing('double') })
  writes.push({ action: WriteOpAction.Create, collection: C, rkey: 'k7',
    record: thing('double') })
  const repo = await Repo.create(storage, B, key, writes)
  const parts = []
  for await (const p of getFullRepo(storage, repo.cid)) parts.push(p)
  await bob.com.atproto.repo.importRepo(Buffer.concat(parts),
    { encoding: CAR })
  const cid = (rkey) => sql(`SELECT cid FROM record WHERE did = '${B}' ` +
    `AND rkey = '${rkey}'`)
  const t = cid('k1'), d = cid('k6'), one = cid('k4')
  ok(refs(B, t) === 4 && refs(B, d) === 2 && refs(B, one) === 1,
    'the import counts each block\'s records',
    { t: refs(B, t), d: refs(B, d), s: refs(B, one) })
  await consistent(bob, 'imported')
  await apply(bob, [['delete', 'k1'], ['delete', 'k2'], ['delete', 'k6']])
  ok(refs(B, t) === 2 && refs(B, d) === 1, 'deletes after the import')
  await consistent(bob, 'imported, some deleted')
  await apply(bob, [['delete', 'k3'], ['delete', 'k5'], ['delete', 'k7'],
    ['delete', 'k4']])
  ok(refs(B, t) === null && refs(B, d) === null && refs(B, one) === null,
    'the imported blocks go with their last records')
  await consistent(bob, 'imported, all of them deleted')
})

done()
