// The local app.bsky view at scale, part 2: read latencies over HTTP
// against the community bench_appview generated, and createRecord with
// and without the index.
//
//   node appview.mjs --url URL --meta FILE [--n N] [--writes W]
//       [--pids PID,...] [--out FILE.json]
//
// One client, one request at a time (keep-alive): the latencies are a
// request's own, not a queue's.  Viewers are accounts of the community
// logged in with createSession; each method is asked N times (after a
// warm-up of 20) for random viewers, actors and threads.  Then an
// account made by createAccount writes W posts (replies to the
// community's busiest threads, so each tells two others) and W records
// of a collection the index does not know, in alternating blocks, and
// the pdsd processes' CPU is read from /proc around each block.
import { readFileSync, writeFileSync } from 'node:fs'

const args = {}
for (let i = 2; i < process.argv.length; i += 2)
	args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
const url = args.url
const N = Number(args.n ?? 400)
const W = Number(args.writes ?? 300)
const pids = (args.pids ?? '').split(',').filter(Boolean)
const meta = readFileSync(args.meta, 'utf8').trim().split('\n')
	.map((l) => l.split(' '))
const accounts = meta.filter((l) => l[0] === 'account')
const threads = meta.filter((l) => l[0] === 'thread').map((l) => l[1])
const posts = meta.filter((l) => l[0] === 'post').map((l) => l[1])
let seed = 12345
const rnd = (n) => {
	seed = (seed * 1103515245 + 12345) % 2147483648
	return seed % n
}
const pick = (a) => a[rnd(a.length)]
let errors = 0
const errorExamples = []

async function xrpc(method, params, token, body) {
	const q = new URLSearchParams(params).toString()
	const t0 = performance.now()
	const res = await fetch(`${url}/xrpc/${method}${q ? '?' + q : ''}`, {
		method: body ? 'POST' : 'GET',
		headers: {
			...(token ? { authorization: `Bearer ${token}` } : {}),
			...(body ? { 'content-type': 'application/json' } : {}),
		},
		body: body ? JSON.stringify(body) : undefined,
	})
	const text = await res.text()
	const ms = performance.now() - t0
	if (res.status !== 200) {
		errors++
		if (errorExamples.length < 5)
			errorExamples.push(`${method} ${res.status} ${text.slice(0, 200)}`)
	}
	return { ms, status: res.status, bytes: text.length,
		json: res.status === 200 && text ? JSON.parse(text) : null }
}

function cpuTicks() {
	let t = 0
	for (const p of pids) {
		try {
			const f = readFileSync(`/proc/${p}/stat`, 'utf8')
			const v = f.slice(f.lastIndexOf(')') + 2).split(' ')
			t += Number(v[11]) + Number(v[12])
		} catch { /* gone */ }
	}
	return t
}

const pct = (s, p) => s[Math.min(s.length - 1, Math.floor(s.length * p))]

function stats(name, lat, extra = {}) {
	const s = [...lat].sort((a, b) => a - b)
	const mean = s.reduce((a, b) => a + b, 0) / s.length
	return { name, n: s.length, p50: pct(s, 0.5), p90: pct(s, 0.9),
		p99: pct(s, 0.99), max: s[s.length - 1], mean, ...extra }
}

// Log in as 20 members of the community.
const viewers = []
for (let i = 0; i < 20; i++) {
	const handle = pick(accounts)[2]
	const r = await xrpc('com.atproto.server.createSession', {}, null,
		{ identifier: handle, password: 'bench-password' })
	if (!r.json)
		throw new Error(`createSession ${handle}: ${r.status}`)
	viewers.push(r.json.accessJwt)
}

const cursors = []
const reads = {
	'getTimeline': async () => {
		const r = await xrpc('app.bsky.feed.getTimeline', { limit: 50 },
			pick(viewers))
		if (r.json?.cursor && cursors.length < 200)
			cursors.push(r.json.cursor)
		return r
	},
	'getTimeline (page 2)': () => xrpc('app.bsky.feed.getTimeline',
		{ limit: 50, cursor: cursors.length ? pick(cursors) : '' },
		pick(viewers)),
	'getAuthorFeed': () => xrpc('app.bsky.feed.getAuthorFeed',
		{ actor: pick(accounts)[2], limit: 50 }, pick(viewers)),
	'getPostThread': () => xrpc('app.bsky.feed.getPostThread',
		{ uri: pick(threads) }, pick(viewers)),
	'getPostThread (random post)': () => xrpc('app.bsky.feed.getPostThread',
		{ uri: pick(posts) }, pick(viewers)),
	'listNotifications': () => xrpc('app.bsky.notification.listNotifications',
		{ limit: 50 }, pick(viewers)),
	'getProfile': () => xrpc('app.bsky.actor.getProfile',
		{ actor: pick(accounts)[2] }, pick(viewers)),
}

const results = { reads: [], writes: [] }
const only = args.only ? new RegExp(args.only) : null
for (const [name, fn] of Object.entries(reads)) {
	if (only && !only.test(name))
		continue
	for (let i = 0; i < 20; i++)
		await fn()
	const lat = []
	let bytes = 0, items = 0
	const c0 = cpuTicks()
	for (let i = 0; i < N; i++) {
		const r = await fn()
		lat.push(r.ms)
		bytes += r.bytes
		const j = r.json ?? {}
		items += (j.feed ?? j.notifications ?? []).length
	}
	results.reads.push(stats(name, lat, {
		kb: bytes / N / 1024, items: items / N,
		cpu_ms: pids.length ? (cpuTicks() - c0) * 10 / N : null,
	}))
}

// Writes: one new account, posts against notes in alternating blocks.
const acct = W === 0 ? { json: {} } : await xrpc(
    'com.atproto.server.createAccount', {}, null, {
	handle: `w${Date.now() % 100000}.test`,
	email: `w${Date.now()}@example.com`, password: 'bench-password' })
if (!acct.json)
	throw new Error(`createAccount: ${acct.status}`)
const tok = acct.json.accessJwt, did = acct.json.did
const threadRefs = []
for (const uri of W === 0 ? [] : threads.slice(0, 20)) {
	const p = await xrpc('app.bsky.feed.getPosts', { uris: uri }, tok)
	if (p.json?.posts?.[0])
		threadRefs.push({ uri, cid: p.json.posts[0].cid })
}
const lat = { post: [], note: [] }, cpu = { post: 0, note: 0 }
const BLOCK = 50
for (let b = 0; b < Math.ceil(W / BLOCK) * 2; b++) {
	const kind = b % 2 ? 'note' : 'post'
	const c0 = cpuTicks()
	for (let i = 0; i < BLOCK; i++) {
		const ref = pick(threadRefs)
		const record = {
			$type: kind === 'post' ? 'app.bsky.feed.post' :
			    'com.example.bench.note',
			text: `bench write ${b} ${i} garden river`,
			createdAt: new Date().toISOString(),
			reply: { root: ref, parent: ref },
		}
		const r = await xrpc('com.atproto.repo.createRecord', {}, tok, {
			repo: did, collection: record.$type, record })
		lat[kind].push(r.ms)
	}
	cpu[kind] += cpuTicks() - c0
}
for (const kind of W === 0 ? [] : ['note', 'post'])
	results.writes.push(stats(kind === 'post' ?
	    'createRecord app.bsky.feed.post (indexed)' :
	    'createRecord com.example.bench.note (not indexed)', lat[kind], {
		cpu_ms: pids.length ? cpu[kind] * 10 / lat[kind].length : null }))
results.errors = errors
results.error_examples = errorExamples

const f = (x) => x == null ? '-' : x.toFixed(2)
console.log('| method | n | p50 ms | p90 ms | p99 ms | max ms | server CPU ms/req | items | KiB |')
console.log('|---|---|---|---|---|---|---|---|---|')
for (const r of results.reads)
	console.log(`| ${r.name} | ${r.n} | ${f(r.p50)} | ${f(r.p90)} | ` +
	    `${f(r.p99)} | ${f(r.max)} | ${f(r.cpu_ms)} | ` +
	    `${r.items.toFixed(1)} | ${r.kb.toFixed(1)} |`)
console.log('\n| write | n | p50 ms | p90 ms | p99 ms | mean ms | server CPU ms/req |')
console.log('|---|---|---|---|---|---|---|')
for (const r of results.writes)
	console.log(`| ${r.name} | ${r.n} | ${f(r.p50)} | ${f(r.p90)} | ` +
	    `${f(r.p99)} | ${f(r.mean)} | ${f(r.cpu_ms)} |`)
if (errors)
	console.log(`\nERRORS ${errors}: ${errorExamples.join('; ')}`)
if (args.out)
	writeFileSync(args.out, JSON.stringify(results, null, 1))
process.exit(errors ? 1 : 0)
