#!/usr/bin/env node
// blob.mjs - what ../shared/bench/bench.mjs does not measure: one large
// blob up and down, and the server's memory meanwhile.  Plain XRPC over
// loopback, no npm packages, bounded in count and time.
//
//   node blob.mjs --url http://127.0.0.1:PORT --pid PID --label NAME \
//       --out FILE.json [--size BYTES] [--runs N]
//       one fresh account; N uploads of a blob of BYTES (50 MiB; each
//       run's first bytes differ, so none is a duplicate), the last one
//       named by a record; N downloads of it (getBlob, the body read
//       and dropped as it comes).  Both through node:http, not fetch,
//       whose own CPU was the ceiling; this client's CPU is reported
//       beside the server's.  PID's VmRSS is sampled every 10 ms;
//       VmHWM is read before and after.  PID is the process that
//       serves HTTP: pdsd's frontend, the official PDS's node.
//
//   node blob.mjs --report --baseline LABEL A.json B.json
//       the markdown table, each server beside the baseline.
import fs from 'node:fs'
import http from 'node:http'
import zlib from 'node:zlib'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'

const argv = process.argv.slice(2)
const O = { url: null, pid: null, label: null, out: null, size: 50 * 1048576,
  runs: 3, report: false, baseline: null, files: [] }
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  if (a === '--report') O.report = true
  else if (['--url', '--label', '--out', '--baseline'].includes(a)) O[a.slice(2)] = argv[++i]
  else if (['--pid', '--size', '--runs'].includes(a)) O[a.slice(2)] = Number(argv[++i])
  else if (!a.startsWith('--')) O.files.push(a)
  else { console.error(`blob.mjs: unknown argument ${a}`); process.exit(2) }
}

const MB = 1e6
const MiB = 1048576
const now = () => performance.now()
const round = (x, d = 1) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d)
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]

// VmRSS and VmHWM of pid in KiB, or null.
function mem(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (k) => Number(s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm'))?.[1])
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') }
  } catch {
    return null
  }
}

// CPU seconds pid has used, user and system (all its threads).
function cpu(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return null
  }
}

// The highest VmRSS while fn runs, the CPU it took in the server and
// in this client (whose own cost bounds what it can measure).
async function sampled(fn) {
  const c0 = cpu(O.pid)
  const k0 = cpu(process.pid)
  let peak = mem(O.pid)?.rss ?? 0
  const t = setInterval(() => {
    const m = mem(O.pid)
    if (m && m.rss > peak) peak = m.rss
  }, 10)
  try {
    const r = await fn()
    const c1 = cpu(O.pid)
    const k1 = cpu(process.pid)
    return { r, peak, cpu: c0 == null || c1 == null ? null : c1 - c0,
      client: k0 == null || k1 == null ? null : k1 - k0 }
  } finally {
    clearInterval(t)
  }
}

async function xrpc(nsid, { body, type, token, query } = {}) {
  const u = new URL(`/xrpc/${nsid}`, O.url)
  for (const [k, v] of Object.entries(query ?? {})) u.searchParams.set(k, v)
  const headers = {}
  if (token) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = type ?? 'application/json'
  const res = await fetch(u, {
    method: body !== undefined ? 'POST' : 'GET',
    headers,
    body: body === undefined ? undefined :
      type ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(120000),
  })
  return res
}

// uploadBlob through node:http, the body handed to the socket as it
// is: fetch() spent about 0.2 s of CPU on each 50 MiB body here, more
// than pdsd's frontend did, and so measured the client.  {status, text}.
function upload(data, token) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL('/xrpc/com.atproto.repo.uploadBlob', O.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream', 'content-length': data.length },
      timeout: 120000,
    }, (res) => {
      const parts = []
      res.on('data', (d) => parts.push(d))
      res.on('end', () => resolve({ status: res.statusCode,
        text: Buffer.concat(parts).toString() }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
    req.end(data)
  })
}

// getBlob through node:http as well (fetch's body stream cost 0.25 s of
// CPU per 50 MiB), asking for gzip as fetch and browsers do (a server
// may compress the blob: the official PDS does) and decoding it: the
// decoded bytes counted and dropped as they come.
function download(query) {
  return new Promise((resolve, reject) => {
    const u = new URL('/xrpc/com.atproto.sync.getBlob', O.url)
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v)
    const req = http.get(u, { timeout: 120000,
      headers: { 'accept-encoding': 'gzip, deflate' } }, (res) => {
      const enc = res.headers['content-encoding']
      const body = enc === 'gzip' ? res.pipe(zlib.createGunzip()) :
        enc === 'deflate' ? res.pipe(zlib.createInflate()) : res
      let n = 0
      const parts = []
      body.on('data', (d) => {
        n += d.length
        if (res.statusCode !== 200 && parts.length < 10) parts.push(d)
      })
      body.on('end', () => (res.statusCode === 200 ? resolve(n) :
        reject(new Error(`getBlob: ${res.statusCode} ${Buffer.concat(parts).toString().slice(0, 300)}`))))
      body.on('error', reject)
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('timed out')))
    req.on('error', reject)
  })
}

async function json(res, what) {
  const text = await res.text()
  if (!res.ok) throw new Error(`${what}: ${res.status} ${text.slice(0, 300)}`)
  return JSON.parse(text)
}

async function measure() {
  const handle = `blob${Date.now() % 1e8}.test`
  const acct = await json(await xrpc('com.atproto.server.createAccount', {
    body: { handle, email: `${handle}@example.com`, password: 'blob-bench-pw' },
  }), 'createAccount')
  const token = acct.accessJwt
  const data = randomBytes(O.size)
  const before = mem(O.pid)
  const up = [], down = []
  let blob

  const u = await sampled(async () => {
    for (let i = 0; i < O.runs; i++) {
      data.writeUInt32BE(i, 0)
      const t0 = now()
      const res = await upload(data, token)
      up.push(now() - t0)
      if (res.status !== 200) throw new Error(`uploadBlob: ${res.status} ${res.text.slice(0, 300)}`)
      const r = JSON.parse(res.text)
      blob = r.blob
      if (blob.size !== O.size) throw new Error(`uploadBlob: size ${blob.size}`)
    }
  })
  // Named by a record, as a client would, before it is fetched.
  await json(await xrpc('com.atproto.repo.createRecord', {
    body: { repo: acct.did, collection: 'com.example.bench.file',
      record: { $type: 'com.example.bench.file', file: blob } },
    token,
  }), 'createRecord')
  const cid = blob.ref.$link
  const d = await sampled(async () => {
    for (let i = 0; i < O.runs; i++) {
      const t0 = now()
      const n = await download({ did: acct.did, cid })
      down.push(now() - t0)
      if (n !== O.size) throw new Error(`getBlob: ${n} bytes`)
    }
  })
  const after = mem(O.pid)
  return {
    label: O.label, size: O.size, runs: O.runs,
    upload_ms: up.map((x) => round(x)), download_ms: down.map((x) => round(x)),
    upload_mb_s: round(O.size / MB / (median(up) / 1000)),
    download_mb_s: round(O.size / MB / (median(down) / 1000)),
    cpu_s_per_upload: u.cpu == null ? null : round(u.cpu / O.runs, 3),
    cpu_s_per_download: d.cpu == null ? null : round(d.cpu / O.runs, 3),
    client_cpu_s_per_upload: u.client == null ? null : round(u.client / O.runs, 3),
    client_cpu_s_per_download: d.client == null ? null : round(d.client / O.runs, 3),
    upload_wall_s: round(up.reduce((a, b) => a + b, 0) / 1000 / O.runs, 3),
    rss_before_kb: before?.rss ?? null, hwm_before_kb: before?.hwm ?? null,
    rss_peak_upload_kb: u.peak, rss_peak_download_kb: d.peak,
    rss_after_kb: after?.rss ?? null, hwm_after_kb: after?.hwm ?? null,
  }
}

function report() {
  const rs = O.files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')))
  const base = rs.find((r) => r.label === O.baseline)
  const mib = (kb) => (kb == null ? '-' : `${round(kb / 1024)}`)
  const grow = (r, k) => (r[k] == null || r.rss_before_kb == null ? null : r[k] - r.rss_before_kb)
  const rows = [
    ['upload MB/s (median)', (r) => r.upload_mb_s, 'more'],
    ['download MB/s (median)', (r) => r.download_mb_s, 'more'],
    ['server CPU s per upload', (r) => r.cpu_s_per_upload, 'less'],
    ['server CPU s per download', (r) => r.cpu_s_per_download, 'less'],
    ['client CPU s per upload (this Node harness)', (r) => r.client_cpu_s_per_upload, null],
    ['client CPU s per download', (r) => r.client_cpu_s_per_download, null],
    ['upload wall s (mean)', (r) => r.upload_wall_s, null],
    ['server RSS before, MiB', (r) => r.rss_before_kb / 1024, 'less'],
    ['RSS growth during uploads, MiB', (r) => grow(r, 'rss_peak_upload_kb') / 1024, null],
    ['RSS growth during downloads, MiB', (r) => grow(r, 'rss_peak_download_kb') / 1024, null],
    ['VmHWM before -> after, MiB', null, null],
  ]
  const size = rs[0] ? `${round(rs[0].size / MiB)} MiB` : '?'
  console.log(`### One blob of ${size}, ${rs[0]?.runs} uploads and ${rs[0]?.runs} downloads` +
    ' (MB = 10^6 bytes; memory of the process serving HTTP)\n')
  console.log(`| | ${rs.map((r) => r.label).join(' | ')} |${base ? ' ratio |' : ''}`)
  console.log(`|---|${rs.map(() => '---:').join('|')}|${base ? '---:|' : ''}`)
  for (const [name, f, better] of rows) {
    if (f === null) {
      console.log(`| ${name} | ${rs.map((r) => `${mib(r.hwm_before_kb)} -> ${mib(r.hwm_after_kb)}`).join(' | ')} |${base ? ' |' : ''}`)
      continue
    }
    const vals = rs.map(f)
    let ratio = ''
    if (base) {
      const other = rs.find((r) => r !== base)
      const b = f(base), o = other ? f(other) : null
      ratio = better && o && b ? ` ${round(better === 'more' ? o / b : b / o, 1)}x |` : ' |'
    }
    console.log(`| ${name} | ${vals.map((v) => (v == null ? '-' : round(v, 2))).join(' | ')} |${ratio}`)
  }
}

if (O.report) {
  report()
} else {
  if (!O.url || !O.pid || !O.out) {
    console.error('blob.mjs: --url, --pid and --out are needed')
    process.exit(2)
  }
  const deadline = setTimeout(() => {
    console.error('blob.mjs: timed out')
    process.exit(1)
  }, 600000)
  try {
    const r = await measure()
    fs.writeFileSync(O.out, JSON.stringify(r, null, 1))
    console.log(JSON.stringify(r))
  } catch (e) {
    console.error(`blob.mjs: ${e.message}`)
    process.exit(1)
  }
  clearTimeout(deadline)
}
