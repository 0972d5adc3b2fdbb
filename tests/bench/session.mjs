#!/usr/bin/env node
// session.mjs - what ../shared/bench/bench.mjs does not measure: logins.
// Plain XRPC over loopback, no npm packages, bounded in count and time.
//
//   node session.mjs --url http://127.0.0.1:PORT --label NAME --out FILE.json
//       one fresh account, then
//       createSession x N one at a time (latency), then
//       createSession at concurrency C (throughput) while a probe sends
//       describeServer one at a time: if a password hash held the event
//       loop, the probe's latency would climb to the hash's.
//
//   node session.mjs --report --baseline LABEL --pwhash PW.json \
//       --bench A.json B.json --session A.json B.json
//       the markdown table: createAccount (from bench.mjs's JSON) and
//       createSession per server, each as a ratio to the baseline and to
//       a bare crypto_pwhash_str / _verify on this machine (PW.json from
//       bench_pwhash).
import fs from 'node:fs'
import { performance } from 'node:perf_hooks'

const argv = process.argv.slice(2)
const O = { url: null, label: null, out: null, seq: 30, conc: 4, concCount: 60,
  seconds: 30, report: false, baseline: null, pwhash: null, bench: [], session: [] }
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  if (a === '--report') O.report = true
  else if (a === '--bench' || a === '--session') {
    while (argv[i + 1] && !argv[i + 1].startsWith('--')) O[a.slice(2)].push(argv[++i])
  } else if (['--url', '--label', '--out', '--baseline', '--pwhash'].includes(a)) O[a.slice(2)] = argv[++i]
  else if (['--seq', '--conc', '--conc-count', '--seconds'].includes(a))
    O[a.slice(2).replace(/-c/, 'C')] = Number(argv[++i])
  else { console.error(`session.mjs: unknown argument ${a}`); process.exit(2) }
}

const now = () => performance.now()
const round = (x, d = 1) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d)
function stats(a) {
  if (!a.length) return null
  const v = [...a].sort((x, y) => x - y)
  const q = (p) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))]
  return { n: v.length, mean: round(v.reduce((s, x) => s + x, 0) / v.length, 2),
    p50: round(q(0.5), 2), p90: round(q(0.9), 2), p99: round(q(0.99), 2), max: round(v[v.length - 1], 2) }
}

async function xrpc(method, nsid, body) {
  const t0 = now()
  const res = await fetch(new URL(`/xrpc/${nsid}`, O.url), {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(60000),
  })
  const text = await res.text()
  let json
  try { json = JSON.parse(text) } catch {}
  return { ok: res.ok, status: res.status, json, ms: now() - t0 }
}

async function measure() {
  const deadline = now() + O.seconds * 1000
  const out = { tool: 'pdsd-session-bench', label: O.label, url: O.url, started: new Date().toISOString() }
  const desc = await xrpc('GET', 'com.atproto.server.describeServer')
  if (!desc.ok) throw new Error(`describeServer: ${desc.status}`)
  const dom = desc.json.availableUserDomains?.[0] ?? '.test'
  const name = `sess${Date.now().toString(36).slice(-6)}`
  const password = 'bench-password-1'
  const acct = await xrpc('POST', 'com.atproto.server.createAccount',
    { handle: `${name}${dom.startsWith('.') ? dom : '.' + dom}`, email: `${name}@example.com`, password })
  if (!acct.ok) throw new Error(`createAccount: ${acct.status} ${JSON.stringify(acct.json)}`)
  const login = { identifier: acct.json.handle, password }
  const errors = {}
  const err = (r) => { const k = `${r.status} ${r.json?.error ?? ''}`; errors[k] = (errors[k] ?? 0) + 1 }

  // a quiet probe first: describeServer latency with nothing else going on
  const idle = []
  for (let i = 0; i < 50; i++) { const r = await xrpc('GET', 'com.atproto.server.describeServer'); if (r.ok) idle.push(r.ms) }
  out.probe_idle_ms = stats(idle)

  const seq = []
  for (let i = 0; i < O.seq && now() < deadline; i++) {
    const r = await xrpc('POST', 'com.atproto.server.createSession', login)
    if (r.ok) seq.push(r.ms); else err(r)
  }
  out.createSession_seq = { ...stats(seq), concurrency: 1 }

  // throughput at O.conc, with the probe running beside it
  let issued = 0
  let stop = false
  const lat = []
  const probe = []
  const t0 = now()
  const worker = async () => {
    while (issued < O.concCount && now() < deadline) {
      issued++
      const r = await xrpc('POST', 'com.atproto.server.createSession', login)
      if (r.ok) lat.push(r.ms); else err(r)
    }
  }
  const prober = async () => {
    while (!stop) {
      const r = await xrpc('GET', 'com.atproto.server.describeServer')
      if (r.ok) probe.push(r.ms)
      await new Promise((res) => setTimeout(res, 5))
    }
  }
  const p = prober()
  await Promise.all(Array.from({ length: O.conc }, worker))
  const secs = (now() - t0) / 1000
  stop = true
  await p
  out.createSession_conc = { ...stats(lat), concurrency: O.conc, seconds: round(secs, 2), rps: round(lat.length / secs, 2) }
  out.probe_under_load_ms = stats(probe)
  out.errors = errors
  return out
}

// ---------------------------------------------------------------- report
function report() {
  const load = (f) => { try { return JSON.parse(fs.readFileSync(f, 'utf8')) } catch { return null } }
  const bench = O.bench.map(load)
  const sess = O.session.map(load)
  const pw = O.pwhash ? load(O.pwhash) : null
  const labels = bench.map((b, i) => b?.label ?? sess[i]?.label ?? `server ${i + 1}`)
  const base = O.baseline ?? labels[0]
  const bi = labels.indexOf(base)
  const fmt = (x) => (x == null ? '–' : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2))
  const rows = [
    ['createAccount p50 ms (sequential)', (i) => bench[i]?.phases?.createAccount?.lat_ms?.p50, false, pw?.str_ms?.p50, 'str'],
    ['createAccount accounts/s (sequential)', (i) => bench[i]?.phases?.createAccount?.rps, true],
    ['createSession p50 ms (sequential)', (i) => sess[i]?.createSession_seq?.p50, false, pw?.verify_ms?.p50, 'verify'],
    ['createSession p90 ms (sequential)', (i) => sess[i]?.createSession_seq?.p90, false],
    ['createSession p50 ms (concurrent)', (i) => sess[i]?.createSession_conc?.p50, false],
    ['createSession sessions/s (concurrent)', (i) => sess[i]?.createSession_conc?.rps, true],
    ['describeServer p50 ms, idle', (i) => sess[i]?.probe_idle_ms?.p50, false],
    ['describeServer p99 ms, during the logins', (i) => sess[i]?.probe_under_load_ms?.p99, false],
    ['describeServer max ms, during the logins', (i) => sess[i]?.probe_under_load_ms?.max, false],
  ]
  const others = labels.map((l, i) => i).filter((i) => i !== bi)
  const out = []
  out.push(`| metric | ${labels.join(' | ')} | ${others.map((i) => `${labels[i]} vs ${base}`).join(' | ')} | bare argon2id on this machine | ${others.map((i) => `${labels[i]} / bare`).join(' | ')} |`)
  out.push(`|---|${labels.map(() => '---:').join('|')}|${others.map(() => '---:').join('|')}|---:|${others.map(() => '---:').join('|')}|`)
  for (const [name, f, higher, bare] of rows) {
    const v = labels.map((_, i) => { try { return f(i) ?? null } catch { return null } })
    const ratio = others.map((i) => (v[i] && v[bi] ? `${(higher ? v[i] / v[bi] : v[bi] / v[i]).toFixed(2)}x` : '–'))
    const vsBare = others.map((i) => (bare && v[i] ? `${(v[i] / bare).toFixed(2)}` : ''))
    out.push(`| ${name} | ${v.map(fmt).join(' | ')} | ${ratio.join(' | ')} | ${bare ? fmt(bare) : ''} | ${vsBare.join(' | ')} |`)
  }
  if (pw) out.push('', `bare argon2id: libsodium crypto_pwhash_str / crypto_pwhash_str_verify at pdsd's limits (opslimit ${pw.opslimit}, memlimit ${pw.memlimit >> 20} MiB), ${pw.runs} runs each, p50. The session runs used ${sess[0]?.createSession_conc?.concurrency ?? '?'} concurrent clients.`)
  for (const [i, s] of sess.entries())
    if (s && Object.keys(s.errors ?? {}).length) out.push(`${labels[i]} session errors: ${JSON.stringify(s.errors)}`)
  console.log(out.join('\n'))
}

if (O.report) report()
else {
  if (!O.url) { console.error('session.mjs: --url needed'); process.exit(2) }
  const u = new URL(O.url)
  if (!u.hostname.startsWith('127.') && u.hostname !== 'localhost') { console.error('session.mjs: loopback only'); process.exit(2) }
  try {
    const r = await measure()
    const json = JSON.stringify(r, null, 2)
    if (O.out) fs.writeFileSync(O.out, json + '\n')
    console.log(json)
  } catch (e) {
    console.error(`session.mjs: ${e.message}`)
    if (O.out) fs.writeFileSync(O.out, JSON.stringify({ label: O.label, fatal: String(e.message) }) + '\n')
    process.exit(1)
  }
}
