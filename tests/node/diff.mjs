// Differential test of pdsd's repository against the reference
// implementation, @atproto/repo.  For each seed, a random sequence of
// creates, updates and deletes (applyWrites batches and single writes,
// several collections, server-made and chosen rkeys, rkeys reused after
// a delete, random data-model values) goes to the daemon through
// @atproto/api while a model keeps the records.  At checkpoints:
//   - every record CID the daemon answered is cidForRecord() of the value;
//   - the exported CAR (getRepo) passes verifyRepoCar (commit signature
//     against the DID document's key, every record) and holds exactly
//     the model's records; its root is getLatestCommit's head;
//   - its data root is the root of the MST @atproto/repo builds from the
//     same keys and CIDs, added in a shuffled order.
// Then a repository the reference writes and signs (another key) is
// imported with pdsctl and must come back whole; local writes go on on
// top.  With the first seed, pdsctl pack without -k (signed by the
// daemon's signerd) and signerd's rev raise after an import are checked.
// Prints TAP.
//
//	node diff.mjs URL PDSCTL SOCKET TMPDIR OPS SEED...
import { AtpAgent } from '@atproto/api'
import { Secp256k1Keypair } from '@atproto/crypto'
import {
  MST, MemoryBlockstore, Repo, cidForRecord, getFullRepo, readCarWithRoot,
  verifyRepoCar, concatBytesAsync,
} from '@atproto/repo'
import { cborDecode, TID } from '@atproto/common'
import { lexParse } from '@atproto/lex-json'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import { ok, step, done } from './tap.mjs'

const [service, pdsctl, sock, tmp, opsArg, ...seeds] = process.argv.slice(2)
const OPS = Number(opsArg)
const AW = 'com.atproto.repo.applyWrites'
const COLLS = ['com.example.alpha', 'com.example.beta.gamma',
  'app.bsky.feed.post', 'com.example.z']
const RKEY_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:~'
const S32 = '234567abcdefghijklmnopqrstuvwxyz'
const LINK = 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'

// mulberry32: the same sequence for the same seed on every run.
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function gen(rnd) {
  const int = (k) => Math.floor(rnd() * k)
  const pick = (a) => a[int(a.length)]
  const str = () => {
    const parts = ['a', 'Z', ' ', '\u00e9', '\u4e16', '\u{1f600}', '"', '\\',
      '\n', '/', 'xyz', '0']
    let s = ''
    for (let i = int(12); i > 0; i--) s += pick(parts)
    return s
  }
  const key = () => {
    let s = pick(['k', 'text', 'a', 'b', 'nested', 'x'])
    if (rnd() < 0.5) s += int(100)
    return s
  }
  const value = (depth) => {
    const r = rnd()
    if (r < 0.2) return str()
    if (r < 0.35) {
      const scale = pick([10, 1000, 2 ** 31, 2 ** 53 - 1])
      return Math.floor(rnd() * scale) * (rnd() < 0.3 ? -1 : 1)
    }
    if (r < 0.42) return rnd() < 0.5
    if (r < 0.47) return null
    if (r < 0.52) {
      const b = Buffer.alloc(int(20))
      for (let i = 0; i < b.length; i++) b[i] = int(256)
      return { $bytes: b.toString('base64').replace(/=+$/, '') }
    }
    if (r < 0.56) return { $link: LINK }
    if (depth > 2) return str()
    if (r < 0.78) {
      const a = []
      for (let i = int(4); i > 0; i--) a.push(value(depth + 1))
      return a
    }
    const o = {}
    for (let i = int(4); i > 0; i--) o[key()] = value(depth + 1)
    return o
  }
  const record = (coll) => {
    if (coll === 'app.bsky.feed.post') {
      return { $type: coll, text: str(), createdAt: new Date(
        1700000000000 + int(1e11)).toISOString() }
    }
    const o = { $type: coll }
    for (let i = int(5); i > 0; i--) o[key()] = value(0)
    return o
  }
  const rkey = () => {
    const r = rnd()
    if (r < 0.5) {
      let s = '3k'
      for (let i = 0; i < 11; i++) s += S32[int(32)]
      return s
    }
    if (r < 0.55) return 'self'
    let s = pick(['', 'a', 'prefix-', 'prefix-shared-'])
    for (let i = 1 + int(15); i > 0; i--) s += RKEY_CHARS[int(RKEY_CHARS.length)]
    return s === '.' || s === '..' ? 'dot' : s
  }
  return { int, pick, record, rkey, rnd }
}

// The CID of a record value given as JSON, as the reference computes it.
const refCid = (v) => cidForRecord(lexParse(JSON.stringify(v)))

// The reference MST root of a key -> CID map, in a shuffled order.
async function refRoot(map, rnd) {
  const keys = [...map.keys()]
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [keys[i], keys[j]] = [keys[j], keys[i]]
  }
  let mst = await MST.create(new MemoryBlockstore())
  for (const k of keys) mst = await mst.add(k, map.get(k))
  return (await mst.getPointer()).toString()
}

function pdsctlRun(args) {
  try {
    const out = execFileSync(pdsctl, ['-s', sock, ...args],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    return { rc: 0, out, err: '' }
  } catch (e) {
    return { rc: e.status, out: e.stdout ?? '', err: e.stderr ?? String(e) }
  }
}

// One account's run: the model maps "collection/rkey" to
// { value, cid (a string), cidObj } and the writes keep it in step.
class Run {
  constructor(seed) {
    this.seed = seed
    this.g = gen(prng(seed))
    this.model = new Map()
    this.deleted = []
    this.bad = []
    this.requests = 0
  }

  async signup() {
    const handle = `diff-seed${this.seed}.test`
    const password = `pw-${this.seed}-differential`
    this.agent = new AtpAgent({ service })
    const r = await this.agent.createAccount({
      handle, password, email: `${handle}@example.com`,
    })
    this.did = r.data.did
    const desc = (await this.agent.com.atproto.repo.describeRepo({ repo: this.did })).data
    const vm = desc.didDoc.verificationMethod.find((m) => m.id.endsWith('#atproto'))
    this.key = `did:key:${vm.publicKeyMultibase}`
  }

  newKey() {
    const { g } = this
    const coll = g.pick(COLLS)
    if (this.deleted.length > 0 && g.rnd() < 0.3) {
      const k = this.deleted.splice(g.int(this.deleted.length), 1)[0]
      if (!this.model.has(k)) return k.split('/')
    }
    return [coll, g.rkey()]
  }

  existing() {
    const keys = [...this.model.keys()]
    return keys.length > 0 ? this.g.pick(keys) : null
  }

  async expectCid(k, value, got) {
    const cidObj = await refCid(value)
    const want = cidObj.toString()
    if (got !== want) this.bad.push({ k, got, want })
    this.model.set(k, { value, cid: want, cidObj })
  }

  // One applyWrites of up to 12 operations on distinct keys.
  async batch(budget) {
    const { g } = this
    const writes = []
    const plan = []
    const used = new Set()
    for (let i = 1 + g.int(Math.min(12, budget)); i > 0; i--) {
      const r = g.rnd()
      const ex = this.existing()
      if (r < 0.25 && ex && !used.has(ex)) {
        used.add(ex)
        const [collection, rkey] = ex.split('/')
        const value = g.record(collection)
        writes.push({ $type: `${AW}#update`, collection, rkey, value })
        plan.push({ k: ex, value })
      } else if (r < 0.45 && ex && !used.has(ex)) {
        used.add(ex)
        const [collection, rkey] = ex.split('/')
        writes.push({ $type: `${AW}#delete`, collection, rkey })
        plan.push({ k: ex, del: true })
      } else {
        const [collection, rkey] = this.newKey()
        const k = `${collection}/${rkey}`
        if (this.model.has(k) || used.has(k)) continue
        used.add(k)
        const value = g.record(collection)
        if (g.rnd() < 0.3) {
          writes.push({ $type: `${AW}#create`, collection, value })
          plan.push({ collection, value })
        } else {
          writes.push({ $type: `${AW}#create`, collection, rkey, value })
          plan.push({ k, value })
        }
      }
    }
    if (writes.length === 0) return 0
    const r = await this.agent.com.atproto.repo.applyWrites({
      repo: this.did, writes,
    })
    this.requests++
    const res = r.data.results
    for (let i = 0; i < plan.length; i++) {
      const p = plan[i]
      if (p.del) {
        this.model.delete(p.k)
        this.deleted.push(p.k)
        continue
      }
      const k = p.k ?? res[i].uri.split('/').slice(3).join('/')
      await this.expectCid(k, p.value, res[i].cid)
    }
    return writes.length
  }

  // One createRecord, putRecord or deleteRecord.
  async single() {
    const { g } = this
    const repo = this.agent.com.atproto.repo
    const r = g.rnd()
    const ex = this.existing()
    this.requests++
    if (r < 0.2 && ex) {
      const [collection, rkey] = ex.split('/')
      await repo.deleteRecord({ repo: this.did, collection, rkey })
      this.model.delete(ex)
      this.deleted.push(ex)
    } else if (r < 0.45 && ex) {
      const [collection, rkey] = ex.split('/')
      const record = g.record(collection)
      const p = await repo.putRecord({ repo: this.did, collection, rkey, record })
      await this.expectCid(ex, record, p.data.cid)
    } else {
      const [collection, rkey] = this.newKey()
      const k = `${collection}/${rkey}`
      const record = g.record(collection)
      if (this.model.has(k)) return 0
      if (g.rnd() < 0.5) {
        const p = await repo.createRecord({ repo: this.did, collection, record })
        await this.expectCid(p.data.uri.split('/').slice(3).join('/'), record, p.data.cid)
      } else if (g.rnd() < 0.5) {
        const p = await repo.createRecord({ repo: this.did, collection, rkey, record })
        await this.expectCid(k, record, p.data.cid)
      } else {
        const p = await repo.putRecord({ repo: this.did, collection, rkey, record })
        await this.expectCid(k, record, p.data.cid)
      }
    }
    return 1
  }

  async writes(total) {
    let done = 0
    while (done < total) {
      done += this.g.rnd() < 0.5 ? await this.batch(total - done) : await this.single()
    }
    return done
  }

  // The head, the exported CAR and the reference's view of both.
  async check(label, key = this.key) {
    const sync = this.agent.com.atproto.sync
    const head = (await sync.getLatestCommit({ did: this.did })).data
    const car = (await sync.getRepo({ did: this.did })).data
    let v
    try {
      v = await verifyRepoCar(car, this.did, key)
    } catch (e) {
      ok(false, `${label}: getRepo verifies with @atproto/repo`, e.message)
      return null
    }
    const exported = new Map(v.creates.map((c) =>
      [`${c.collection}/${c.rkey}`, c.cid.toString()]))
    const diff = [...this.model].filter(([k, m]) => exported.get(k) !== m.cid)
    ok(v.commit.cid.toString() === head.cid && v.commit.rev === head.rev &&
      exported.size === this.model.size && diff.length === 0,
    `${label}: getRepo verifies (signature, every record) and holds the ` +
      `${this.model.size} records of the model`,
    { head, exported: exported.size, model: this.model.size, diff: diff.slice(0, 3) })
    const { root, blocks } = await readCarWithRoot(car)
    const data = cborDecode(blocks.get(root)).data.toString()
    const cids = new Map([...this.model].map(([k, m]) => [k, m.cidObj]))
    const want = await refRoot(cids, this.g.rnd)
    ok(data === want, `${label}: data root is the reference's MST root`, { data, want })
    return { head, data, car }
  }
}

// A repository the reference writes for did and signs with its own key.
async function refRepo(run, nrecords, rev) {
  const keypair = await Secp256k1Keypair.create()
  const storage = new MemoryBlockstore()
  const writes = []
  const model = new Map()
  const { g } = run
  for (const [k, m] of run.model) {
    if (g.rnd() < 0.2) continue
    const [collection, rkey] = k.split('/')
    const value = g.rnd() < 0.1 ? g.record(collection) : m.value
    writes.push({ action: 'create', collection, rkey, record: lexParse(JSON.stringify(value)) })
    const cidObj = await refCid(value)
    model.set(k, { value, cid: cidObj.toString(), cidObj })
  }
  while (model.size < nrecords + run.model.size * 0.8) {
    const [collection, rkey] = [g.pick(COLLS), g.rkey()]
    const k = `${collection}/${rkey}`
    if (model.has(k)) continue
    const value = g.record(collection)
    writes.push({ action: 'create', collection, rkey, record: lexParse(JSON.stringify(value)) })
    const cidObj = await refCid(value)
    model.set(k, { value, cid: cidObj.toString(), cidObj })
  }
  const commit = await Repo.formatInitCommit(storage, run.did, keypair, writes, rev)
  const repo = await Repo.createFromCommit(storage, commit)
  const car = await concatBytesAsync(getFullRepo(storage, repo.cid))
  const file = `${tmp}/ref-${run.seed}.car`
  fs.writeFileSync(file, car)
  return { keypair, repo, model, file, data: repo.data }
}

async function importRef(run, rev) {
  const ref = await refRepo(run, 150, rev)
  const want = (await ref.data.getPointer()).toString()
  const r = pdsctlRun(['import', '--did', run.did, ref.file])
  const lines = r.out.trim().split('\n')
  ok(r.rc === 0 && lines[0].startsWith(`imported ${run.did}: commit ${ref.repo.cid}, rev ${ref.repo.commit.rev}, ${ref.model.size} records`) &&
    lines.length === 2 && lines[1] === "warning: the commit is not signed by the account's key",
  `seed ${run.seed}: pdsctl import of the reference's CAR (${ref.model.size} records)`, r)
  run.model = ref.model
  const c = await run.check(`seed ${run.seed} after import`, ref.keypair.did())
  ok(c && c.head.cid === ref.repo.cid.toString() && c.head.rev === ref.repo.commit.rev &&
    c.data === want, `seed ${run.seed}: the head is the reference's commit, rev and data root`,
  { head: c?.head, want: [ref.repo.cid.toString(), ref.repo.commit.rev, want] })
  return ref
}

// pdsctl pack with no key: signerd signs, under its rollback check.
async function packChecks(run, exported) {
  const dir = `${tmp}/unpacked-${run.seed}`
  fs.writeFileSync(`${tmp}/ours.car`, exported.car)
  let r = pdsctlRun(['unpack', `${tmp}/ours.car`, dir])
  ok(r.rc === 0, 'pdsctl unpack of our export', r)
  const commit = JSON.parse(fs.readFileSync(`${dir}/_commit.json`, 'utf8'))
  fs.writeFileSync(`${dir}/_commit.json`, JSON.stringify({ did: commit.did }))
  r = pdsctlRun(['pack', dir, `${tmp}/packed.car`])
  const field = (name) => (r.out.match(new RegExp(`^${name}: (.*)$`, 'm')) ?? [])[1]
  const packedRev = field('rev')
  let v = null
  try {
    v = await verifyRepoCar(fs.readFileSync(`${tmp}/packed.car`), run.did, run.key)
  } catch (e) {
    r.verify = e.message
  }
  ok(r.rc === 0 && field('data') === exported.data && packedRev > exported.head.rev &&
    v !== null && v.creates.length === run.model.size,
  'pack without -k: signed by signerd with the account key, same data root', r)
  fs.writeFileSync(`${dir}/_commit.json`, JSON.stringify({ did: commit.did, rev: packedRev }))
  r = pdsctlRun(['pack', dir, `${tmp}/again.car`])
  ok(r.rc === 1 && r.err.includes('not newer than the last') &&
    !fs.existsSync(`${tmp}/again.car`),
  'pack without -k of a rev signerd has signed: refused, nothing written', r)
  fs.writeFileSync(`${dir}/_commit.json`, JSON.stringify({ did: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' }))
  r = pdsctlRun(['pack', dir, `${tmp}/other.car`])
  ok(r.rc === 1 && r.err.includes('unknown did'),
    'pack without -k for a DID signerd has no key for: refused', r)
  r = pdsctlRun(['import', '--did', run.did, `${tmp}/packed.car`])
  ok(r.rc === 0 && r.out.trim().split('\n').length === 1,
    'import of the daemon-signed CAR: no warning at all', r)
  await run.check(`seed ${run.seed} after importing the packed CAR`)
}

for (const s of seeds) {
  const run = new Run(Number(s))
  await step(`seed ${s}`, async () => {
    const t0 = Date.now()
    await run.signup()
    const third = Math.ceil(OPS / 3)
    let done = 0
    for (let i = 1; i <= 3; i++) {
      done += await run.writes(third)
      const c = await run.check(`seed ${s} after ${done} writes`)
      if (i === 3 && c && s === seeds[0]) await packChecks(run, c)
    }
    ok(run.bad.length === 0,
      `seed ${s}: every record CID the daemon answered is the reference's (${run.requests} requests)`,
      run.bad.slice(0, 3))
    // The first seed imports a rev a minute ahead: signerd must then
    // refuse to sign an older one for the DID, whatever the frontend asks.
    const ahead = s === seeds[0]
      ? TID.fromTime((Date.now() + 60000) * 1000, 7).toString() : undefined
    const ref = await importRef(run, ahead)
    if (ahead) {
      const dir = `${tmp}/unpacked-${run.seed}`
      const between = TID.fromTime((Date.now() + 30000) * 1000, 7).toString()
      fs.writeFileSync(`${dir}/_commit.json`, JSON.stringify({ did: run.did, rev: between }))
      const r = pdsctlRun(['pack', dir, `${tmp}/between.car`])
      ok(r.rc === 1 && r.err.includes('not newer than the last'),
        'after the import signerd will not sign a rev older than the imported one', r)
    }
    const before = run.model.size
    await run.writes(40)
    const c = await run.check(`seed ${s}: local writes on top of the import`)
    ok(c && c.head.rev > ref.repo.commit.rev,
      `seed ${s}: the next commits are newer than the imported one (${before} -> ${run.model.size} records)`,
      c?.head)
    console.log(`# seed ${s}: ${done} writes in ${run.requests} requests, ${Date.now() - t0} ms`)
  })
}

done()
