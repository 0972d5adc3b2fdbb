#!/usr/bin/env node
// targets.mjs OFFICIAL.json PDSD.json [CEILING.json]: the issues' speed
// targets, from bench.mjs's JSON of one run, as a markdown table.
//
// For each target: the official PDS's figure, what the target asks of
// pdsd, pdsd's figure, whether it is met, and, where the client's
// ceiling was measured (bench.mjs against tests/bench/null_server), the
// most any server could show with this client on this machine, and so
// whether the target can be shown here at all.
import fs from 'node:fs'

const [offFile, pdsdFile, ceilFile] = process.argv.slice(2)
if (!offFile || !pdsdFile) {
  console.error('usage: node targets.mjs OFFICIAL.json PDSD.json [CEILING.json]')
  process.exit(2)
}
const load = (f) => (f && fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : null)
const off = load(offFile)
const pdsd = load(pdsdFile)
const ceil = load(ceilFile)
const ph = (r, k) => r?.phases?.[k]

// [what, issue, getter, factor, higher is better]
const targets = [
  ['createRecord req/s, 1 client', 8, (r) => ph(r, 'createRecord_c1')?.rps, 10, true],
  ['createRecord req/s, 32 clients', 8, (r) => ph(r, 'createRecord_c32')?.rps, 20, true],
  ['getRecord req/s, 8 clients', 8, (r) => ph(r, 'getRecord_c8')?.rps, 10, true],
  ['listRecords req/s, 8 clients', 8, (r) => ph(r, 'listRecords_c8')?.rps, 10, true],
  ['applyWrites (10 creates) calls/s, 8 clients', 8, (r) => ph(r, 'applyWrites10_c8')?.rps, 10, true],
  ['createRecord p99 ms, 32 clients', 8, (r) => ph(r, 'createRecord_c32')?.lat_ms?.p99, 10, false],
  ['peak RSS MB, all server processes', 8, (r) => r?.memory?.peak_rss_kb && Math.max(r.memory.peak_rss_kb, r.memory.hwm_kb ?? 0) / 1024, 10, false],
  ['importRepo ms, 10k records', 5, (r) => ph(r, 'importRepo')?.ms_median, 10, false],
  ['getRepo ms, 10k records (gzip accepted)', 5, (r) => ph(r, 'getRepo')?.ms_median, 10, false],
]

const fmt = (x) => (x == null ? '–' : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2))
const errors = (r) => Object.values(r?.phases ?? {}).reduce((s, p) => s + (p.errors ?? 0) + (p.runs?.filter((x) => x.error).length ?? 0), 0)

const out = []
out.push('| target | issue | official | needed | pdsd | pdsd vs official | met | client ceiling | reachable here |')
out.push('|---|---:|---:|---:|---:|---:|:-:|---:|:-:|')
let met = 0
for (const [what, issue, get, factor, higher] of targets) {
  const o = get(off)
  const p = get(pdsd)
  const c = ceil && !/RSS|Repo ms/.test(what) ? get(ceil) : null
  const need = o == null ? null : higher ? o * factor : o / factor
  const ok = need != null && p != null && (higher ? p >= need : p <= need)
  if (ok) met++
  const ratio = o != null && p ? (higher ? p / o : o / p) : null
  let reach = '–'
  if (c != null && need != null) reach = (higher ? c >= need : c <= need) ? 'yes' : 'no'
  out.push(`| ${what} | ${issue} | ${fmt(o)} | ${higher ? '≥' : '≤'} ${fmt(need)} (${factor}x) | ${fmt(p)} | ${ratio == null ? '–' : ratio.toFixed(2) + 'x'} | ${ok ? 'yes' : 'no'} | ${fmt(c)} | ${reach} |`)
}
const e = errors(pdsd)
out.push(`| errors in every phase | 8 | ${errors(off)} | 0 | ${e} | | ${e === 0 ? 'yes' : 'no'} | | |`)
if (e === 0) met++
out.push('', `${met} of ${targets.length + 1} targets met. "client ceiling": the same bench.mjs against a server that does no work (tests/bench/null_server); "reachable here": whether that ceiling itself meets the target (throughput and latency only; memory and the big-repo phases are not limited by the client).`)

// Issue 5: export and import throughput of the 10k-record repository,
// and the servers' peak resident memory in each phase.
const thr = (r, k, msKey) => {
  const p = ph(r, k)
  if (!p?.[msKey] || !p.records) return null
  return { rps: p.records / (p[msKey] / 1000), mbs: p.bytes / 2 ** 20 / (p[msKey] / 1000), rss: p.server_rss_peak_kb / 1024 }
}
out.push('', '| phase (10k records) | server | records/s | MB/s | peak RSS MB |', '|---|---|---:|---:|---:|')
for (const [what, k, msKey] of [['getRepo (gzip accepted)', 'getRepo', 'ms_median'], ['getRepo (identity)', 'getRepo', 'identity_ms_median'], ['importRepo', 'importRepo', 'ms_median']]) {
  for (const [name, r] of [['official', off], ['pdsd', pdsd]]) {
    const t = thr(r, k, msKey)
    out.push(`| ${what} | ${name} | ${fmt(t?.rps)} | ${fmt(t?.mbs)} | ${fmt(t?.rss)} |`)
  }
}
out.push('', 'MB/s: the CAR\'s bytes (uncompressed) over the median time of the phase\'s runs; peak RSS: all server processes, sampled through the phase.')
console.log(out.join('\n'))
