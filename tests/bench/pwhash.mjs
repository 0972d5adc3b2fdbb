// createAccount and createSession latency against a running pdsd, and
// whether the event loop keeps answering while passwords hash: the
// _health latency idle and while 8 logins are in flight.  Prints
// numbers; never fails on them.  tests/bench/pwhash.sh runs it.
//
//	node pwhash.mjs URL [rounds]
const [service, roundsArg] = process.argv.slice(2)
const rounds = Number(roundsArg ?? 20)
const X = `${service}/xrpc`

async function post(nsid, body) {
  const r = await fetch(`${X}/${nsid}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const o = await r.json()
  if (r.status !== 200) throw new Error(`${nsid}: ${r.status} ${JSON.stringify(o)}`)
  return o
}

async function timed(fn) {
  const t = performance.now()
  await fn()
  return performance.now() - t
}

function stats(what, ms) {
  const s = [...ms].sort((a, b) => a - b)
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))]
  console.log(`${what.padEnd(28)} p50 ${q(0.5).toFixed(1).padStart(7)} ms` +
    `  p90 ${q(0.9).toFixed(1).padStart(7)}  max ${s[s.length - 1].toFixed(1).padStart(7)}` +
    `  (n=${s.length})`)
}

const health = () => timed(async () => {
  const r = await fetch(`${X}/_health`)
  await r.arrayBuffer()
})

const pw = 'correct horse battery staple'
const tag = Date.now().toString(36).slice(-5)
const created = []
for (let i = 0; i < rounds; i++) {
  const handle = `b${tag}${i}.test`
  created.push(await timed(() => post('com.atproto.server.createAccount',
    { handle, email: `${handle}@example.com`, password: pw })))
}
const first = `b${tag}0.test`
const logins = []
for (let i = 0; i < rounds; i++) {
  logins.push(await timed(() => post('com.atproto.server.createSession',
    { identifier: first, password: pw })))
}
const idle = []
for (let i = 0; i < 50; i++) idle.push(await health())

// 8 logins at once; _health asked one after another meanwhile.
const busy = []
let running = true
const t0 = performance.now()
const burst = Promise.all(Array.from({ length: 8 }, () =>
  post('com.atproto.server.createSession', { identifier: first, password: pw })))
  .finally(() => { running = false })
while (running) busy.push(await health())
await burst
const burstMs = performance.now() - t0

stats("createAccount", created)
stats('createSession', logins)
stats('_health, idle', idle)
stats('_health, 8 logins hashing', busy)
console.log(`8 concurrent createSession done in ${burstMs.toFixed(0)} ms`)
