// The firehose under load (make bench): a running pdsd, a few writers
// doing createRecord as fast as they are answered, and 0, 1, 100 and
// 1,000 subscribers, then none again (the machine's drift).  For each
// phase: writes per second, events per
// second delivered (all subscribers together), the frontend's CPU time
// per write, and the delivery latency of one probe subscriber, the last
// to connect (so the last in pdsd's fan-out): from the event's "time"
// (pdsd's clock, which this machine shares, stamped in the write's
// transaction just before it commits; millisecond resolution) to the
// frame's arrival.  Before the 1,000 phase, the frontend's VmRSS
// with and without 1,000 idle subscribers.
//
// The subscribers other than the probe live in a child process (raw
// sockets that count frames and answer pings) so that their parsing
// does not delay the probe's clock.  Both share the machine with pdsd.
//
// The subscribers' own cost: the child's CPU time (process.cpuUsage)
// per frame it read; with the frontend's CPU per send and the cost of
// the writes with none, what 1,000 subscribers at 0.9 times the
// no-subscriber rate would take from the machine (the "ceiling" line).
//
//   node firehose.mjs --url URL --pid PDSD_PID [--seconds 10]
//       [--writers 4] [--subs 0,1,100,1000,0] [--out FILE.json]
//   node firehose.mjs --null 1 --url URL --pid FANOUT_NULL_PID --subs 1,1000
// (--null: the server is fanout_null.c, which makes its events itself;
// "writes/s" is then the events it made, as the probe counted them.)
import net from 'node:net'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import { fork } from 'node:child_process'

const STREAM = '/xrpc/com.atproto.sync.subscribeRepos'
const EMPTY = Buffer.alloc(0)
// The #commit header, and the body's "time" key with a 24-byte string:
// enough to time a frame without a CBOR decoder (the probe's clock).
const COMMIT_HDR = Buffer.from('a261746723636f6d6d6974626f7001', 'hex')
const TIME_KEY = Buffer.from('6474696d657818', 'hex')

function opts(argv) {
  const o = { seconds: 10, writers: 4, subs: '0,1,100,1000,0', out: null, url: null, pid: null }
  for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1]
  return o
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000

// Server frames (never masked), read as they come in any chunking.
class FrameReader {
  constructor(sock, onMessage) {
    this.sock = sock
    this.onMessage = onMessage	// null: count only
    this.head = EMPTY
    this.need = 0
    this.op = 0
    this.parts = []
    this.frames = 0
    this.bytes = 0
    this.closed = false
  }

  push(chunk) {
    let off = 0
    this.bytes += chunk.length
    while (off < chunk.length) {
      if (this.need > 0) {
        const n = Math.min(this.need, chunk.length - off)
        if (this.onMessage || this.op !== 2) this.parts.push(chunk.subarray(off, off + n))
        this.need -= n
        off += n
        if (this.need === 0) this.done()
        continue
      }
      const h = this.head.length === 0 && chunk.length - off >= 10
        ? chunk.subarray(off, off + 10)
        : Buffer.concat([this.head, chunk.subarray(off, off + 10 - this.head.length)])
      const lc = h.length >= 2 ? h[1] & 0x7f : 0
      const hl = lc === 126 ? 4 : lc === 127 ? 10 : 2
      if (h.length < hl) {
        off += h.length - this.head.length
        this.head = Buffer.from(h)
        continue
      }
      off += hl - this.head.length
      this.head = EMPTY
      this.op = h[0] & 0x0f
      this.need = lc === 126 ? h.readUInt16BE(2) : lc === 127 ? Number(h.readBigUInt64BE(2)) : lc
      this.parts = []
      if (this.need === 0) this.done()
    }
  }

  done() {
    const payload = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts)
    this.parts = []
    if (this.op === 2) {
      this.frames++
      if (this.onMessage) this.onMessage(payload)
    } else if (this.op === 9) {
      this.sock.write(clientFrame(0xa, payload))
    } else if (this.op === 8) {
      this.closed = true
    }
  }
}

function clientFrame(op, payload) {
  const key = crypto.randomBytes(4)
  const out = Buffer.alloc(6 + payload.length)
  out[0] = 0x80 | op
  out[1] = 0x80 | payload.length	// control frames: at most 125
  key.copy(out, 2)
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i] ^ key[i % 4]
  return out
}

// One subscriber over a raw socket; resolves once the 101 is in.
function subscribe(url, onMessage) {
  return new Promise((resolve, reject) => {
    const u = new URL(url)
    const sock = net.connect(+u.port, u.hostname)
    const key = crypto.randomBytes(16).toString('base64')
    let head = EMPTY, reader = null
    sock.setNoDelay(true)
    sock.on('error', (e) => { if (!reader) reject(e); else reader.closed = true })
    sock.on('close', () => { if (reader) reader.closed = true })
    sock.on('connect', () => sock.write(`GET ${STREAM} HTTP/1.1\r\nHost: ${u.host}\r\n` +
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
      `Sec-WebSocket-Key: ${key}\r\n\r\n`))
    sock.on('data', (d) => {
      if (reader) { reader.push(d); return }
      head = Buffer.concat([head, d])
      const i = head.indexOf('\r\n\r\n')
      if (i < 0) return
      if (!head.subarray(0, 12).toString().startsWith('HTTP/1.1 101')) {
        sock.destroy()
        reject(new Error(`handshake: ${head.subarray(0, i).toString().split('\r\n')[0]}`))
        return
      }
      reader = new FrameReader(sock, onMessage)
      // An unsolicited pong now and then: pdsd drops a silent peer.
      const t = setInterval(() => sock.write(clientFrame(0xa, EMPTY)), 20000)
      t.unref()
      sock.on('close', () => clearInterval(t))
      resolve(reader)
      if (i + 4 < head.length) reader.push(head.subarray(i + 4))
    })
  })
}

// Child: n counting subscribers, driven over IPC.
async function loadChild(url, n) {
  const readers = []
  for (let i = 0; i < n; i += 50) {
    const batch = []
    for (let j = i; j < Math.min(n, i + 50); j++) batch.push(subscribe(url, null))
    readers.push(...await Promise.all(batch))
  }
  const count = () => ({
    frames: readers.reduce((a, r) => a + r.frames, 0),
    bytes: readers.reduce((a, r) => a + r.bytes, 0),
    closed: readers.filter((r) => r.closed).length,
    cpu: process.cpuUsage(),
  })
  process.on('message', (m) => {
    if (m === 'count') process.send({ count: count() })
    else if (m === 'exit') {
      for (const r of readers) r.sock.destroy()
      setTimeout(() => process.exit(0), 100)
    }
  })
  process.send({ ready: n })
}

function startLoad(url, n) {
  return new Promise((resolve, reject) => {
    const c = fork(new URL(import.meta.url).pathname, ['--load', url, '--n', String(n)],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const t = setTimeout(() => reject(new Error(`${n} subscribers: not connected in 120 s`)), 120000)
    c.once('message', (m) => { clearTimeout(t); if (m.ready === n) resolve(c); else reject(new Error('load')) })
    c.once('exit', (code) => reject(new Error(`load child exited ${code}`)))
  })
}

function ask(child) {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m.count))
    child.send('count')
  })
}

async function stopLoad(child) {
  if (!child) return
  const done = new Promise((r) => child.once('exit', r))
  child.send('exit')
  await Promise.race([done, sleep(5000)])
  child.kill()
}

function frontendPid(pid, alone) {
  if (alone) return pid
  const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)
  for (const k of kids)
    if (fs.readFileSync(`/proc/${k}/cmdline`, 'utf8').startsWith('pdsd: frontend')) return +k
  throw new Error(`no frontend child of ${pid}`)
}

const rssKb = (pid) => +fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]
// [utime, stime] in clock ticks (1/100 s).
function cpuTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ')
  return [+rest[11], +rest[12]]
}

// A process and all its descendants: [utime, stime] ticks together.
function treeTicks(pid) {
  let t = [0, 0]
  try {
    t = cpuTicks(pid)
    for (const task of fs.readdirSync(`/proc/${pid}/task`))
      for (const k of fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/))
        if (k) { const c = treeTicks(+k); t[0] += c[0]; t[1] += c[1] }
  } catch { /* gone meanwhile */ }
  return t
}

// All CPUs' busy and total time, in ticks (/proc/stat's first line).
function machineTicks() {
  const v = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const total = v.reduce((a, x) => a + x, 0)
  return { busy: total - v[3] - v[4], total }
}

async function post(url, nsid, body, jwt) {
  const headers = { 'content-type': 'application/json' }
  if (jwt) headers.authorization = `Bearer ${jwt}`
  const r = await fetch(`${url}/xrpc/${nsid}`, { method: 'POST', headers, body: JSON.stringify(body) })
  const j = await r.json().catch(() => null)
  if (r.status !== 200) throw new Error(`${nsid}: ${r.status} ${JSON.stringify(j)}`)
  return j
}

// The writers: each its own account, one request at a time, for ms.
async function write(url, accts, ms) {
  const end = Date.now() + ms
  let n = 0, errors = 0
  await Promise.all(accts.map(async (a, w) => {
    while (Date.now() < end) {
      try {
        await post(url, 'com.atproto.repo.createRecord', {
          repo: a.did, collection: 'app.bsky.feed.post',
          record: { $type: 'app.bsky.feed.post', text: `bench ${w} ${n}`, createdAt: new Date().toISOString() },
        }, a.accessJwt)
        n++
      } catch (e) {
        errors++
        await sleep(10)
      }
    }
  }))
  return { writes: n, errors }
}

const pct = (a, p) => {
  if (a.length === 0) return null
  const s = [...a].sort((x, y) => x - y)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]
}
const r1 = (x) => (x == null ? null : Math.round(x * 10) / 10)
const r2 = (x) => Math.round(x * 100) / 100

async function phase(o, accts, fe, subs, pre) {
  let child = pre ?? null, probe = null
  const lat = []
  if (subs > 1 && !child) child = await startLoad(o.url, subs - 1)
  if (subs > 0) {
    probe = await subscribe(o.url, (p) => {
      const at = nowUs()
      if (!p.subarray(0, COMMIT_HDR.length).equals(COMMIT_HDR)) return
      const i = p.indexOf(TIME_KEY, COMMIT_HDR.length)
      if (i > 0) lat.push(at / 1000 - Date.parse(p.subarray(i + 7, i + 31).toString()))
    })
  }
  await sleep(1000)
  const c0 = cpuTicks(fe), m0 = machineTicks(), t0s = treeTicks(+o.pid), s0 = process.cpuUsage()
  const base = child ? await ask(child) : { frames: 0, closed: 0 }
  const p0 = probe ? probe.frames : 0
  const t0 = Date.now()
  // With --null the server makes the events itself: the probe counts them.
  const w = o.null ? (await sleep(o.seconds * 1000), { writes: probe ? probe.frames - p0 : 0, errors: 0 })
    : await write(o.url, accts, o.seconds * 1000)
  const secs = (Date.now() - t0) / 1000
  // The tail of the stream; fanout_null's goes on for ever.
  if (!o.null) await sleep(1000)
  const c1 = cpuTicks(fe), m1 = machineTicks(), t1s = treeTicks(+o.pid), s1 = process.cpuUsage()
  const end = child ? await ask(child) : { frames: 0, closed: 0 }
  const pf = probe ? probe.frames - p0 : 0
  const delivered = pf + end.frames - base.frames
  const cf = end.frames - base.frames
  // The subscribers' own cost: the child's CPU per frame it read.
  const sub = (k) => child && cf > 0 ? r1((end.cpu[k] - base.cpu[k]) / cf) : null
  const res = {
    subscribers: subs,
    seconds: r1(secs),
    writes_per_sec: r1(w.writes / secs),
    write_errors: w.errors,
    events_per_sec: r1(delivered / secs),
    frames_per_subscriber: subs ? r1(delivered / subs) : 0,
    events_written: w.writes,
    frontend_user_us_per_write: w.writes ? Math.round((c1[0] - c0[0]) * 10000 / w.writes) : null,
    frontend_sys_us_per_write: w.writes ? Math.round((c1[1] - c0[1]) * 10000 / w.writes) : null,
    latency_ms_p50: r1(pct(lat, 0.5)),
    latency_ms_p99: r1(pct(lat, 0.99)),
    latency_samples: lat.length,
    subscriber_user_us_per_frame: sub('user'),
    subscriber_sys_us_per_frame: sub('system'),
    bytes_per_frame: child && cf > 0 ? Math.round((end.bytes - base.bytes) / cf) : null,
    // The server's processes and this one (writers, probe): what a
    // write costs us, whoever else shares the machine.
    ours_us_per_write: w.writes ? Math.round(((t1s[0] + t1s[1] - t0s[0] - t0s[1]) * 10000 +
      s1.user + s1.system - s0.user - s0.system) / w.writes) : null,
    machine_cpus_busy: Math.round((m1.busy - m0.busy) / (m1.total - m0.total) * os.cpus().length * 100) / 100,
    dropped: (end.closed ?? 0) + (probe && probe.closed ? 1 : 0),
  }
  if (probe) probe.sock.destroy()
  await stopLoad(child)
  await sleep(500)
  return res
}

async function main() {
  const o = opts(process.argv.slice(2))
  if (o.load) return loadChild(o.load, +o.n)
  o.seconds = +o.seconds
  const fe = frontendPid(+o.pid, o.null)
  const tag = crypto.randomBytes(3).toString('hex')
  const accts = []
  for (let i = 0; i < (o.null ? 0 : +o.writers); i++)
    accts.push(await post(o.url, 'com.atproto.server.createAccount', {
      handle: `fh${tag}${i}.test`, email: `fh${tag}${i}@example.com`, password: `pw-${tag}-${i}`,
    }))
  const out = { phases: [], memory: null }
  const subsList = o.subs.split(',').map(Number)
  const log = (r) => console.error(`firehose: ${JSON.stringify(r)}`)
  for (const n of subsList) {
    let pre = null
    if (n >= 1000 && !out.memory) {
      // Memory of n idle subscribers: n - 1 in the child, the probe after.
      await sleep(1000)
      const before = rssKb(fe)
      pre = await startLoad(o.url, n - 1)
      const extra = await subscribe(o.url, null)
      await sleep(2000)
      const after = rssKb(fe)
      extra.sock.destroy()
      out.memory = { subscribers: n, rss_before_kb: before, rss_after_kb: after,
        bytes_per_subscriber: Math.round((after - before) * 1024 / n) }
      log(out.memory)
    }
    const r = await phase(o, accts, fe, n, pre)
    log(r)
    out.phases.push(r)
  }
  const none = out.phases.filter((p) => p.subscribers === 0)
  const one = out.phases.find((p) => p.subscribers === 1)
  const k = out.phases.find((p) => p.subscribers >= 1000)
  if (none.length && k) {
    const base = none.reduce((a, p) => a + p.writes_per_sec, 0) / none.length
    out.write_ratio_1000_vs_none = Math.round(k.writes_per_sec / base * 1000) / 1000
  }
  if (one && k && one.latency_ms_p99 != null && k.latency_ms_p99 != null)
    out.p99_added_ms = r1(k.latency_ms_p99 - one.latency_ms_p99)
  if (none.length && k && k.subscriber_user_us_per_frame != null)
    out.ceiling = ceiling(none, k)
  if (o.out) fs.writeFileSync(o.out, JSON.stringify(out, null, 2))
  report(out)
  process.exit(0)
}

// What k subscribers at 0.9 times the no-subscriber write rate would
// take from the machine: the writes themselves (all processes, as
// measured with none), the server's sends (the frontend's CPU per write
// above none's, per subscriber) and the subscribers' reads (the
// child's CPU per frame), against the CPUs there are.
function ceiling(none, k) {
  const avg = (f) => none.reduce((a, p) => a + f(p), 0) / none.length
  const rate = 0.9 * avg((p) => p.writes_per_sec)
  const perWrite = avg((p) => p.ours_us_per_write / 1e6)
  const fe0 = avg((p) => p.frontend_user_us_per_write + p.frontend_sys_us_per_write)
  const send = (k.frontend_user_us_per_write + k.frontend_sys_us_per_write - fe0) / k.subscribers
  const recv = k.subscriber_user_us_per_frame + k.subscriber_sys_us_per_frame
  const frames = rate * k.subscribers
  const need = { writes: rate * perWrite, sends: frames * send / 1e6, reads: frames * recv / 1e6 }
  return {
    subscribers: k.subscribers, writes_per_sec: r1(rate), frames_per_sec: Math.round(frames),
    server_us_per_send: r1(send), subscriber_us_per_frame: r1(recv),
    cpus_writes: r2(need.writes), cpus_sends: r2(need.sends), cpus_reads: r2(need.reads),
    cpus_total: r2(need.writes + need.sends + need.reads), cpus_there: os.cpus().length,
  }
}

function report(out) {
  console.log('| subscribers | writes/s | events/s delivered | frontend user µs/write | frontend system µs/write | p50 ms | p99 ms | dropped |' +
    ' subscribers\' user µs/frame | system µs/frame | bytes/frame | ours µs/write | CPUs busy (machine) |')
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const p of out.phases)
    console.log(`| ${p.subscribers} | ${p.writes_per_sec} | ${p.events_per_sec} | ${p.frontend_user_us_per_write} | ` +
      `${p.frontend_sys_us_per_write} | ` +
      `${p.latency_ms_p50 ?? '-'} | ${p.latency_ms_p99 ?? '-'} | ${p.dropped} | ` +
      `${p.subscriber_user_us_per_frame ?? '-'} | ${p.subscriber_sys_us_per_frame ?? '-'} | ` +
      `${p.bytes_per_frame ?? '-'} | ${p.ours_us_per_write} | ${p.machine_cpus_busy} |`)
  if (out.memory)
    console.log(`\nfrontend VmRSS ${out.memory.rss_before_kb} kB -> ${out.memory.rss_after_kb} kB with ` +
      `${out.memory.subscribers} idle subscribers: ${out.memory.bytes_per_subscriber} bytes each`)
  if (out.write_ratio_1000_vs_none != null)
    console.log(`write throughput with 1,000 subscribers / none: ${out.write_ratio_1000_vs_none}`)
  if (out.p99_added_ms != null)
    console.log(`p99 latency added by 1,000 subscribers over 1: ${out.p99_added_ms} ms`)
  const c = out.ceiling
  if (c)
    console.log(`\n${c.subscribers} subscribers at 0.9 x the no-subscriber rate (${c.writes_per_sec} writes/s, ` +
      `${c.frames_per_sec} frames/s) would need ${c.cpus_total} CPUs of ${c.cpus_there}: ` +
      `${c.cpus_writes} for the writes (all processes, as with none), ` +
      `${c.cpus_sends} for the server's sends (${c.server_us_per_send} µs each), ` +
      `${c.cpus_reads} for the subscribers' reads (${c.subscriber_us_per_frame} µs per frame)`)
}

main().catch((e) => { console.error(`firehose bench: ${e.stack}`); process.exit(1) })
