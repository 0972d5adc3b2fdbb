// A firehose consumer against a running pdsd: Node's own WebSocket
// client, frames decoded with @atproto/lex-cbor, CAR slices and commit
// signatures checked with @atproto/repo, and then @atproto/sync's
// Firehose, the reference consumer, on the same stream.  Prints
// "ok - ..." / "not ok - ..." lines (firehose.sh numbers them).
//
//   node firehose.mjs main URL
//   node firehose.mjs outdated URL FIRSTSEQ
import { decodeAll, encode } from '@atproto/lex-cbor'
import { readCarWithRoot, verifyCommitSig, cborToLex } from '@atproto/repo'
import { Firehose } from '@atproto/sync'
import net from 'node:net'
import crypto from 'node:crypto'

const [mode, URL_, arg] = process.argv.slice(2)
const WSURL = URL_.replace(/^http/, 'ws')
const XRPC = `${URL_}/xrpc`
const STREAM = '/xrpc/com.atproto.sync.subscribeRepos'
let failed = 0

function ok(cond, desc, detail) {
  if (cond) console.log(`ok - ${desc}`)
  else {
    failed++
    console.log(`not ok - ${desc}`)
    if (detail !== undefined) console.log(`# ${String(detail).replace(/\n/g, '\n# ')}`)
  }
  return cond
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const hex = (b) => Buffer.from(b).toString('hex')

// The header a message frame must start with: {"t": type, "op": 1}.
function headerHex(t) {
  return 'a26174' + (0x60 + t.length).toString(16) + hex(Buffer.from(t)) + '626f7001'
}

function parseFrame(bytes) {
  const items = [...decodeAll(bytes)]
  if (items.length !== 2) throw new Error(`${items.length} CBOR items in a frame`)
  const [header, body] = items
  const hlen = bytes.length - encode(body).length
  return { header, body, bytes, hbytes: bytes.subarray(0, hlen), bbytes: bytes.subarray(hlen) }
}

function subscribe(query = '') {
  const ws = new WebSocket(`${WSURL}${STREAM}${query}`)
  ws.binaryType = 'arraybuffer'
  const s = { ws, frames: [], closed: null, open: false, error: null }
  ws.onopen = () => { s.open = true }
  ws.onmessage = (e) => {
    if (typeof e.data === 'string') s.error = 'text frame from the server'
    else s.frames.push(new Uint8Array(e.data))
  }
  ws.onclose = (e) => { s.closed = { code: e.code, reason: e.reason } }
  ws.onerror = (e) => { s.error = e.message ?? 'error' }
  return s
}

async function until(pred, ms = 5000) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (pred()) return true
    await sleep(20)
  }
  return pred()
}

// Wait until no frame arrived for `quiet` ms.
async function settle(s, quiet = 400, ms = 8000) {
  const end = Date.now() + ms
  let n = -1, since = Date.now()
  while (Date.now() < end) {
    if (s.frames.length !== n) { n = s.frames.length; since = Date.now() }
    else if (Date.now() - since >= quiet) return
    await sleep(20)
  }
}

async function post(nsid, body, jwt) {
  const headers = { 'content-type': 'application/json' }
  if (jwt) headers.authorization = `Bearer ${jwt}`
  const r = await fetch(`${XRPC}/${nsid}`, { method: 'POST', headers, body: JSON.stringify(body) })
  const j = await r.json().catch(() => null)
  if (r.status !== 200) throw new Error(`${nsid}: ${r.status} ${JSON.stringify(j)}`)
  return j
}

const accounts = new Map()	// did -> { handle, key, jwt }
async function createAccount(name) {
  const j = await post('com.atproto.server.createAccount', {
    handle: `${name}.test`, email: `${name}@example.com`, password: `pw-${name}-123`,
  })
  const vm = j.didDoc.verificationMethod.find((v) => v.id.endsWith('#atproto'))
  accounts.set(j.did, { handle: j.handle, key: `did:key:${vm.publicKeyMultibase}`,
    jwt: j.accessJwt, doc: j.didDoc })
  return j.did
}

async function createRecord(did, collection, record) {
  return post('com.atproto.repo.createRecord', { repo: did, collection, record },
    accounts.get(did).jwt)
}

const cidStr = (c) => (c == null ? c : c.toString())
const keys = (o) => Object.keys(o).sort().join(',')

// Check one event frame fully; state carries each repo's last commit.
async function checkEvent(f, state) {
  const t = f.header.t, b = f.body
  if (hex(f.hbytes) !== headerHex(t)) return `header ${hex(f.hbytes)}`
  if (f.header.op !== 1) return 'op'
  if (hex(encode(b)) !== hex(f.bbytes)) return 'body is not canonical DAG-CBOR'
  if (!Number.isSafeInteger(b.seq) || b.seq < 1) return 'seq'
  if (typeof b.time !== 'string' || isNaN(Date.parse(b.time))) return 'time'
  const acct = accounts.get(b.did ?? b.repo)
  if (!acct) return `unknown DID ${b.did ?? b.repo}`
  switch (t) {
  case '#identity':
    if (keys(b) !== 'did,handle,seq,time') return `#identity keys ${keys(b)}`
    if (b.handle !== acct.handle) return 'handle'
    return null
  case '#account':
    if (keys(b) !== 'active,did,seq,time' || b.active !== true) return `#account ${keys(b)}`
    return null
  case '#sync': {
    if (keys(b) !== 'blocks,did,rev,seq,time') return `#sync keys ${keys(b)}`
    const car = await readCarWithRoot(b.blocks)
    if (car.blocks.size !== 1) return '#sync CAR must hold the commit alone'
    const last = state.get(b.did)
    if (!last || cidStr(car.root) !== last.cid || b.rev !== last.rev) return '#sync root'
    return null
  }
  case '#commit': {
    const want = 'blobs,blocks,commit,ops,rebase,repo,rev,seq,since,time,tooBig'
    const prev = state.get(b.repo)
    if (keys(b) !== (prev ? want + ',prevData' : want).split(',').sort().join(','))
      return `#commit keys ${keys(b)}`
    if (b.rebase !== false || b.tooBig !== false || b.blobs.length !== 0) return 'deprecated fields'
    const car = await readCarWithRoot(b.blocks)
    if (cidStr(car.root) !== cidStr(b.commit)) return 'CAR root is not the commit'
    const commit = cborToLex(car.blocks.get(car.root))
    if (commit.did !== b.repo || commit.rev !== b.rev || commit.version !== 3) return 'commit block'
    if (!(await verifyCommitSig(commit, acct.key))) return 'commit signature'
    if (prev) {
      if (b.since !== prev.rev) return `since ${b.since} != ${prev.rev}`
      if (cidStr(b.prevData) !== prev.data) return 'prevData'
    } else if (b.since !== null) return 'since of the first commit'
    if (!car.blocks.has(commit.data) && b.ops.length > 0) return 'MST root missing'
    for (const op of b.ops) {
      if (op.action === 'create') {
        if ('prev' in op || !op.cid || !car.blocks.has(op.cid)) return `create op ${op.path}`
      } else if (op.action === 'delete') {
        if (op.cid !== null || !op.prev) return `delete op ${op.path}`
      } else if (op.action !== 'update') return `op action ${op.action}`
    }
    state.set(b.repo, { cid: cidStr(b.commit), rev: b.rev, data: cidStr(commit.data) })
    return null
  }
  default:
    return `unexpected type ${t}`
  }
}

async function checkStream(frames, desc) {
  const state = new Map()
  let prevSeq = 0, bad = null
  for (const bytes of frames) {
    let f
    try { f = parseFrame(bytes) } catch (e) { bad = `decode: ${e.message}`; break }
    if (f.body.seq <= prevSeq) { bad = `seq ${f.body.seq} after ${prevSeq}`; break }
    prevSeq = f.body.seq
    const why = await checkEvent(f, state).catch((e) => e.message)
    if (why) { bad = `seq ${f.body.seq} ${f.header.t}: ${why}`; break }
  }
  ok(bad === null, desc, bad)
}

const seqs = (s) => s.frames.map((b) => parseFrame(b).body.seq)
const types = (s) => s.frames.map((b) => parseFrame(b).header.t)
const contiguous = (a, from) => a.every((v, i) => v === from + i)

async function errorFrame(query, name, msg, desc) {
  const s = subscribe(query)
  await until(() => s.closed !== null)
  let f = null
  try { f = parseFrame(s.frames[0]) } catch (e) { /* reported below */ }
  ok(s.frames.length === 1 && f && hex(f.hbytes) === 'a1626f7020' &&
     keys(f.body) === 'error,message' && f.body.error === name &&
     f.body.message === msg && hex(encode(f.body)) === hex(f.bbytes),
     `${desc}: error frame`, f ? JSON.stringify(f.body) : `${s.frames.length} frames`)
  ok(s.closed && s.closed.code === 1008 && s.closed.reason === name,
     `${desc}: closed 1008`, JSON.stringify(s.closed))
}

// Raw client: the handshake by hand, then it stops reading.
function rawClient(query) {
  return new Promise((resolve, reject) => {
    const u = new URL(URL_)
    const sock = net.connect(+u.port, u.hostname)
    const key = crypto.randomBytes(16).toString('base64')
    let head = Buffer.alloc(0)
    sock.on('error', reject)
    sock.on('connect', () => sock.write(`GET ${STREAM}${query} HTTP/1.1\r\nHost: x\r\n` +
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n` +
      `Sec-WebSocket-Key: ${key}\r\n\r\n`))
    const onData = (d) => {
      head = Buffer.concat([head, d])
      const i = head.indexOf('\r\n\r\n')
      if (i < 0) return
      sock.off('data', onData)
      sock.pause()
      resolve({ sock, head: head.subarray(0, i).toString(), rest: head.subarray(i + 4) })
    }
    sock.on('data', onData)
  })
}

// Unmasked server frames out of a byte buffer.
function splitFrames(buf) {
  const out = []
  let off = 0
  while (off + 2 <= buf.length) {
    let len = buf[off + 1] & 0x7f, h = 2
    if (len === 126) { len = buf.readUInt16BE(off + 2); h = 4 }
    else if (len === 127) { len = Number(buf.readBigUInt64BE(off + 2)); h = 10 }
    if (off + h + len > buf.length) break
    out.push({ op: buf[off] & 0x0f, payload: buf.subarray(off + h, off + h + len) })
    off += h + len
  }
  return out
}

async function tooSlow(did) {
  const c = await rawClient('')
  ok(c.head.startsWith('HTTP/1.1 101 '), 'raw handshake', c.head)
  // About 32 MB of events while the client does not read a byte: the
  // kernel takes up to 4.5 MB, pdsd drops it past 16 MiB.
  const big = 'x'.repeat(800000)
  for (let i = 0; i < 40; i++)
    await createRecord(did, 'com.example.big', { $type: 'com.example.big', text: big })
  // Chunks joined once at the end: tens of MB arrive.
  const chunks = [c.rest]
  c.sock.on('data', (d) => { chunks.push(d) })
  let ended = false
  c.sock.on('end', () => { ended = true })
  c.sock.on('close', () => { ended = true })
  c.sock.resume()
  await until(() => ended, 15000)
  const frames = splitFrames(Buffer.concat(chunks))
  const bin = frames.filter((f) => f.op === 2)
  const last = bin.length ? parseFrame(bin[bin.length - 1].payload) : null
  const close = frames.find((f) => f.op === 8)
  ok(bin.length < 40 && last && last.header.op === -1 &&
     last.body.error === 'ConsumerTooSlow', 'a consumer that does not read gets ConsumerTooSlow',
     `${bin.length} frames, last ${last && JSON.stringify(last.header)}`)
  ok(close && close.payload.readUInt16BE(0) === 1008 && ended, 'and is closed with 1008')
  c.sock.destroy()
}

// The reference's bound is 500 queued events, whatever their size: a
// consumer that reads nothing is dropped once 500 are waiting in pdsd.
// The kernel's socket buffers (up to about 4.5 MB on loopback) take
// the first ones, so 900 events of 16 KB: the count is reached with
// under 13 MB sent, below the 16 MiB byte bound.
async function tooSlowCount(did) {
  const c = await rawClient('')
  const N = 900, text = 'y'.repeat(16000)
  let next = 0
  const worker = async () => {
    while (next < N) {
      next++
      await createRecord(did, 'com.example.small', { $type: 'com.example.small', text })
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()])
  // Chunks joined once at the end: tens of MB arrive.
  const chunks = [c.rest]
  c.sock.on('data', (d) => { chunks.push(d) })
  let ended = false
  c.sock.on('close', () => { ended = true })
  c.sock.resume()
  await until(() => ended, 15000)
  const frames = splitFrames(Buffer.concat(chunks))
  const bin = frames.filter((f) => f.op === 2)
  const last = bin.length ? parseFrame(bin[bin.length - 1].payload) : null
  const bytes = bin.reduce((n, f) => n + f.payload.length, 0)
  console.log(`# slow consumer: ${bin.length - 1} events, ${bytes} bytes before the error`)
  ok(bin.length >= 501 && bin.length <= N && last && last.body.error === 'ConsumerTooSlow' &&
     bytes < 16 * 1024 * 1024,
     '500 queued events: ConsumerTooSlow (not before 500)',
     `${bin.length} frames, ${bytes} bytes, last ${last && (last.body.error ?? last.body.seq)}`)
  c.sock.destroy()
}

// An applyWrites of 200 creates is one #commit, as in the reference:
// every op, every record block, tooBig false, since the previous rev.
async function bigCommit(did) {
  const head = await (await fetch(`${XRPC}/com.atproto.sync.getLatestCommit?did=${did}`)).json()
  const s = subscribe('')
  await until(() => s.open)
  const writes = []
  for (let i = 0; i < 200; i++)
    writes.push({ $type: 'com.atproto.repo.applyWrites#create', collection: 'app.bsky.feed.post',
      value: { $type: 'app.bsky.feed.post', text: `bulk ${i}`, createdAt: new Date().toISOString() } })
  await post('com.atproto.repo.applyWrites', { repo: did, writes }, accounts.get(did).jwt)
  await until(() => s.frames.length >= 1)
  await settle(s, 300)
  let f = null, why = null
  try {
    f = parseFrame(s.frames[0])
    const b = f.body
    const car = await readCarWithRoot(b.blocks)
    const commit = cborToLex(car.blocks.get(car.root))
    if (f.header.t !== '#commit') why = `type ${f.header.t}`
    else if (b.ops.length !== 200) why = `${b.ops.length} ops`
    else if (b.tooBig !== false) why = 'tooBig'
    else if (b.since !== head.rev) why = `since ${b.since}, want ${head.rev}`
    else if (!b.ops.every((o) => o.action === 'create' && car.blocks.has(o.cid))) why = 'a record block is missing'
    else if (!(await verifyCommitSig(commit, accounts.get(did).key))) why = 'signature'
  } catch (e) { why = e.message }
  ok(s.frames.length === 1 && why === null, 'applyWrites of 200 creates: one #commit with all 200 ops',
     `${s.frames.length} frames: ${why}`)
  s.ws.close()
}

// A raw request, answered with its status line and headers.
function rawHead(lines) {
  return new Promise((resolve) => {
    const u = new URL(URL_)
    const sock = net.connect(+u.port, u.hostname)
    let buf = ''
    const t = setTimeout(() => { sock.destroy(); resolve(buf) }, 3000)
    sock.on('connect', () => sock.write(`GET ${STREAM} HTTP/1.1\r\nHost: x\r\n` + lines.join('\r\n') + '\r\n\r\n'))
    sock.on('data', (d) => {
      buf += d.toString()
      if (buf.includes('\r\n\r\n')) { clearTimeout(t); sock.destroy(); resolve(buf) }
    })
    sock.on('error', () => { clearTimeout(t); resolve(buf) })
  })
}

// A masked client frame.
function clientFrame(op, payload, mask = true) {
  const len = payload.length
  const h = [0x80 | op]
  if (len < 126) h.push((mask ? 0x80 : 0) | len)
  else if (len < 65536) h.push((mask ? 0x80 : 0) | 126, len >> 8, len & 0xff)
  else { h.push((mask ? 0x80 : 0) | 127, 0, 0, 0, 0); h.push((len >>> 24) & 0xff, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff) }
  if (!mask) return Buffer.concat([Buffer.from(h), payload])
  const key = crypto.randomBytes(4)
  const body = Buffer.from(payload.map((b, i) => b ^ key[i % 4]))
  return Buffer.concat([Buffer.from(h), key, body])
}

// Send bytes after the handshake; the close code the server answers.
async function closeCodeAfter(bytes) {
  const c = await rawClient('')
  let buf = c.rest, ended = false
  c.sock.on('data', (d) => { buf = Buffer.concat([buf, d]) })
  c.sock.on('close', () => { ended = true })
  c.sock.resume()
  c.sock.write(bytes)
  await until(() => ended || splitFrames(buf).some((f) => f.op === 8), 5000)
  const close = splitFrames(buf).find((f) => f.op === 8)
  c.sock.destroy()
  return close ? close.payload.readUInt16BE(0) : null
}

async function badInputs(did) {
  const base = ['Upgrade: websocket', 'Connection: Upgrade']
  let h = await rawHead([...base, 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: short'])
  ok(h.startsWith('HTTP/1.1 400 '), 'bad Sec-WebSocket-Key: 400', h.split('\r\n')[0])
  h = await rawHead([...base, 'Sec-WebSocket-Version: 8', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='])
  ok(h.startsWith('HTTP/1.1 426 ') && /\r\nSec-WebSocket-Version: 13\r\n/i.test(h),
     'Sec-WebSocket-Version 8: 426 naming 13', h.split('\r\n')[0])
  h = await rawHead(['Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='])
  ok(h.startsWith('HTTP/1.1 400 '), 'Upgrade without Connection: Upgrade: 400', h.split('\r\n')[0])
  await errorFrame('?cursor=-1', 'InvalidRequest', 'cursor must be an integer', 'cursor=-1')

  let code = await closeCodeAfter(clientFrame(2, Buffer.alloc(16385)))
  ok(code === 1009, 'a client frame over 16 KiB: close 1009', code)
  code = await closeCodeAfter(clientFrame(2, Buffer.from('hi'), false))
  ok(code === 1002, 'an unmasked client frame: close 1002', code)
  code = await closeCodeAfter(Buffer.from([0x83, 0x80, 1, 2, 3, 4]))
  ok(code === 1002, 'a reserved opcode: close 1002', code)

  // Consumers that vanish mid-stream, some halfway through a frame.
  const gone = []
  for (let i = 0; i < 10; i++) gone.push(await rawClient('?cursor=0'))
  gone.forEach((c, i) => {
    if (i % 2) c.sock.write(clientFrame(2, Buffer.alloc(1000)).subarray(0, 500))
    c.sock.destroy()
  })
  await createRecord(did, 'app.bsky.feed.post',
    { $type: 'app.bsky.feed.post', text: 'after the vanished', createdAt: new Date().toISOString() })
  const r = await fetch(`${URL_}/xrpc/_health`)
  ok(r.status === 200, 'abrupt disconnects: pdsd still serves')
}

function resolver() {
  return {
    did: {
      resolve: async (did) => accounts.get(did)?.doc ?? null,
      resolveAtprotoKey: async (did) => {
        const a = accounts.get(did)
        if (!a) throw new Error(`cannot resolve ${did}`)
        return a.key
      },
    },
    handle: {
      resolve: async (handle) => {
        const r = await fetch(`${XRPC}/com.atproto.identity.resolveHandle?handle=${handle}`)
        return r.status === 200 ? (await r.json()).did : undefined
      },
    },
  }
}

async function referenceConsumer(posts, deleted) {
  const events = [], errors = []
  const fh = new Firehose({
    idResolver: resolver(),
    service: WSURL,
    getCursor: () => 0,
    handleEvent: (evt) => { events.push(evt) },
    onError: (err) => { errors.push(err) },
  })
  fh.start()
  const want = posts.length + 1
  await until(() => events.filter((e) => e.event === 'create' || e.event === 'delete').length >= want ||
    errors.length > 0, 10000)
  await sleep(300)
  await fh.destroy()
  const creates = events.filter((e) => e.event === 'create')
  ok(errors.length === 0, '@atproto/sync Firehose: no validation or parse error',
     errors.map((e) => `${e.message}: ${e.cause?.message ?? ''}`).join('; '))
  const byUri = new Map(creates.map((e) => [e.uri.toString(), e]))
  ok(posts.every((p) => byUri.get(p.uri)?.record?.text === p.text &&
    cidStr(byUri.get(p.uri).cid) === p.cid),
     '@atproto/sync Firehose: every record verified against the signed MST',
     JSON.stringify([...byUri.keys()]))
  ok(events.some((e) => e.event === 'delete' && e.uri.toString() === deleted),
     '@atproto/sync Firehose: the delete, proven absent')
  ok(['identity', 'account', 'sync'].every((k) => events.some((e) => e.event === k)),
     '@atproto/sync Firehose: identity, account and sync events')
  const id = events.find((e) => e.event === 'identity')
  ok(id && id.handle === accounts.get(id.did).handle, '@atproto/sync Firehose: handle verified')
}

async function main() {
  const alice = await createAccount('alice')
  const bob = await createAccount('bob')
  const posts = []
  for (const text of ['first post', 'second post', 'third post']) {
    const r = await createRecord(alice, 'app.bsky.feed.post',
      { $type: 'app.bsky.feed.post', text, createdAt: new Date().toISOString() })
    posts.push({ uri: r.uri, cid: r.cid, text })
  }
  const rkey = posts[1].uri.split('/').pop()
  await post('com.atproto.repo.deleteRecord', { repo: alice, collection: 'app.bsky.feed.post', rkey },
    accounts.get(alice).jwt)
  const deleted = posts.splice(1, 1)[0].uri

  // Replay of everything.
  const all = subscribe('?cursor=0')
  await settle(all)
  const n = all.frames.length
  ok(n === 12 && contiguous(seqs(all), 1), 'cursor=0 replays every event, seq 1..12', seqs(all))
  ok(types(all).slice(0, 8).join(' ') ===
    '#identity #account #commit #sync #identity #account #commit #sync',
     'account creation: #identity #account #commit #sync', types(all))
  ok(hex(all.frames[2].subarray(0, 15)) === 'a261746723636f6d6d6974626f7001',
     '#commit header bytes are the spec\'s')
  await checkStream(all.frames, 'every frame: header, canonical body, fields, CAR, signature, since/prevData')

  // Two live consumers and one from the latest cursor.
  const a = subscribe(''), b = subscribe(''), c = subscribe(`?cursor=${n}`)
  await until(() => a.open && b.open && c.open)
  await sleep(100)
  ok(a.frames.length === 0 && c.frames.length === 0, 'no cursor / latest cursor: nothing replayed')
  const carol = await createAccount('carol')
  await until(() => a.frames.length >= 4 && b.frames.length >= 4 && c.frames.length >= 4)
  await settle(a, 200)
  ok(contiguous(seqs(a), n + 1) && a.frames.length === 4, 'live events arrive while connected',
     seqs(a))
  ok(a.frames.length === b.frames.length && a.frames.every((f, i) => hex(f) === hex(b.frames[i])) &&
     c.frames.every((f, i) => hex(f) === hex(a.frames[i])), 'every consumer gets the same bytes')

  // A consumer that connects while writes are going on misses nothing.
  const writes = (async () => {
    const dave = await createAccount('dave')
    for (let i = 0; i < 5; i++)
      await createRecord(dave, 'app.bsky.feed.post',
        { $type: 'app.bsky.feed.post', text: `busy ${i}`, createdAt: new Date().toISOString() })
    return dave
  })()
  await sleep(30)
  const mid = subscribe('?cursor=0')
  const dave = await writes
  await settle(mid)
  await settle(a)
  const total = n + 4 + 9
  ok(contiguous(seqs(mid), 1) && mid.frames.length === total,
     'connecting during writes: no gap, no duplicate', seqs(mid))
  ok(contiguous(seqs(a), n + 1) && a.frames.length === total - n, 'live consumer: no gap, no duplicate')
  await checkStream(mid.frames, 'the whole stream still checks')

  // Replay from the middle gives the same bytes.
  const m = subscribe('?cursor=5')
  await settle(m)
  ok(m.frames.length === total - 5 && m.frames.every((f, i) => hex(f) === hex(mid.frames[i + 5])),
     'cursor=5 replays seq 6.. byte for byte')

  // Client messages are ignored, the stream goes on.
  a.ws.send('hello')
  a.ws.send(new Uint8Array([1, 2, 3]))
  await createRecord(carol, 'app.bsky.feed.post',
    { $type: 'app.bsky.feed.post', text: 'after chatter', createdAt: new Date().toISOString() })
  await until(() => a.frames.length === total - n + 1)
  ok(a.frames.length === total - n + 1 && a.closed === null, 'client messages are ignored')

  await errorFrame('?cursor=999999', 'FutureCursor', 'Cursor in the future.', 'cursor=999999')
  await errorFrame('?cursor=abc', 'InvalidRequest', 'cursor must be an integer', 'cursor=abc')

  let r = await fetch(`${URL_}${STREAM}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  let j = await r.json()
  ok(r.status === 405 && j.error === 'InvalidRequest', 'POST: 405 InvalidRequest', `${r.status} ${JSON.stringify(j)}`)
  r = await fetch(`${URL_}${STREAM}`)
  j = await r.json()
  ok(r.status === 426 && j.error === 'UpgradeRequired', 'GET without Upgrade: 426', `${r.status} ${JSON.stringify(j)}`)

  await referenceConsumer(posts, deleted)
  await tooSlow(dave)
  await tooSlowCount(dave)
  await bigCommit(carol)
  await badInputs(carol)

  // The others were not disturbed by the slow one.
  await settle(a)
  ok(a.closed === null && contiguous(seqs(a), n + 1), 'other consumers kept their stream',
     `${a.frames.length} frames`)
  for (const s of [all, a, b, c, mid, m]) s.ws.close()
  await sleep(100)
}

// After pruning: #info OutdatedCursor, then the oldest event kept.
async function outdated(first) {
  const s = subscribe('?cursor=0')
  await settle(s)
  let f0 = null, f1 = null
  try { f0 = parseFrame(s.frames[0]); f1 = parseFrame(s.frames[1]) } catch (e) { /* below */ }
  ok(f0 && hex(f0.hbytes) === headerHex('#info') && keys(f0.body) === 'message,name' &&
     f0.body.name === 'OutdatedCursor' &&
     f0.body.message === 'Requested cursor exceeded limit. Possibly missing events',
     'old cursor: #info OutdatedCursor first', f0 && JSON.stringify(f0.body))
  ok(f1 && f1.body.seq === first && contiguous(seqs({ frames: s.frames.slice(1) }), first),
     `then the oldest kept event, seq ${first}`, f1 && f1.body.seq)
  const s2 = subscribe(`?cursor=${first - 1}`)
  await settle(s2)
  ok(s2.frames.length === s.frames.length - 1 && parseFrame(s2.frames[0]).header.t !== '#info',
     'a cursor just before the oldest: no #info')
  s.ws.close()
  s2.ws.close()
  await sleep(100)
}

try {
  if (mode === 'main') await main()
  else if (mode === 'outdated') await outdated(+arg)
  else throw new Error(`unknown mode ${mode}`)
} catch (e) {
  ok(false, `${mode}: no exception`, e.stack)
}
process.exit(failed ? 1 : 0)
