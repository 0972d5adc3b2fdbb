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
//       and dropped as it comes).  PID's VmRSS is sampled every 10 ms;
//       VmHWM is read before and after.  PID is the process that
//       serves HTTP: pdsd's frontend, the official PDS's node.
//
//   node blob.mjs --report --baseline LABEL A.json B.json
//       the markdown table, each server beside the baseline.
import fs from 'node:fs'
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

// The highest VmRSS while fn runs, and the CPU it took.
async function sampled(fn) {
  const c0 = cpu(O.pid)
  let peak = mem(O.pid)?.rss ?? 0
  const t = setInterval(() => {
    const m = mem(O.pid)
    if (m && m.rss > peak) peak = m.rss
  }, 10)
  try {
    const r = await fn()
    const c1 = cpu(O.pid)
    return { r, peak, cpu: c0 == null || c1 == null ? null : c1 - c0 }
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
      const r = await json(await xrpc('com.atproto.repo.uploadBlob', {
        body: data, type: 'application/octet-stream', token,
      }), 'uploadBlob')
      up.push(now() - t0)
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
      const res = await xrpc('com.atproto.sync.getBlob', { query: { did: acct.did, cid } })
      if (!res.ok) throw new Error(`getBlob: ${res.status} ${await res.text()}`)
      let n = 0
      for await (const chunk of res.body) n += chunk.length
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
