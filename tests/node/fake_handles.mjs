// fake_handles.mjs - the outside world of handle resolution, on
// loopback, for tests/regress/resolve.sh:
//
//   node fake_handles.mjs --dns-port N --http-port M --table FILE.json
//
// a DNS server (UDP) answering TXT questions for _atproto.HANDLE, and
// an HTTP server answering GET /.well-known/atproto-did by Host, both
// from the table: { "handle": { "txt": [["chunk", ...], ...],
// "dnsDrop": true, "http": "body", "status": 200, "httpDelay": ms } }.  The table is
// read again on every question, so a test can change it.  Unknown
// names get NXDOMAIN and 404.  Each question is logged on stdout.
import dgram from 'node:dgram'
import fs from 'node:fs'
import http from 'node:http'

const argv = process.argv.slice(2)
const opt = (k) => argv[argv.indexOf(k) + 1]
const table = () => JSON.parse(fs.readFileSync(opt('--table'), 'utf8'))

// One question: its name (lower case, no trailing dot), type, and end.
function question(m) {
  const labels = []
  let i = 12
  for (let guard = 0; guard < 128 && i < m.length; guard++) {
    const n = m[i]
    if (n === 0) {
      if (i + 5 > m.length) return null
      return { name: labels.join('.').toLowerCase(), type: m.readUInt16BE(i + 1), end: i + 5 }
    }
    if (n > 63 || i + 1 + n > m.length) return null
    labels.push(m.subarray(i + 1, i + 1 + n).toString('latin1'))
    i += 1 + n
  }
  return null
}

function answer(m, q, records, rcode) {
  const head = Buffer.alloc(12)
  m.copy(head, 0, 0, 2) // the id
  head.writeUInt16BE(0x8180 | rcode, 2)
  head.writeUInt16BE(1, 4)
  head.writeUInt16BE(records.length, 6)
  const parts = [head, m.subarray(12, q.end)]
  for (const chunks of records) {
    const rd = Buffer.concat(chunks.map((c) => {
      const b = Buffer.from(c, 'utf8')
      return Buffer.concat([Buffer.from([b.length]), b])
    }))
    const rr = Buffer.alloc(12)
    rr.writeUInt16BE(0xc00c, 0)
    rr.writeUInt16BE(16, 2)
    rr.writeUInt16BE(1, 4)
    rr.writeUInt32BE(60, 6)
    rr.writeUInt16BE(rd.length, 10)
    parts.push(rr, rd)
  }
  return Buffer.concat(parts)
}

const dns = dgram.createSocket('udp4')
dns.on('message', (m, rinfo) => {
  const q = m.length >= 12 ? question(m) : null
  if (!q) return
  console.log(`dns ${q.name} ${q.type}`)
  const h = q.name.startsWith('_atproto.') ? table()[q.name.slice(9)] : undefined
  if (h?.dnsDrop) return
  const recs = q.type === 16 && h?.txt ? h.txt : []
  dns.send(answer(m, q, recs, h?.txt ? 0 : 3), rinfo.port, rinfo.address)
})
dns.bind(Number(opt('--dns-port')), '127.0.0.1')

const web = http.createServer((req, res) => {
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase()
  console.log(`http ${host} ${req.url}`)
  const h = table()[host]
  if (req.url !== '/.well-known/atproto-did' || h?.http === undefined) {
    res.writeHead(404).end('not found\n')
    return
  }
  const send = () => res.writeHead(h.status ?? 200, { 'content-type': 'text/plain' }).end(h.http)
  if (h.httpDelay) setTimeout(send, Math.min(h.httpDelay, 30000))
  else send()
})
web.listen(Number(opt('--http-port')), '127.0.0.1')
setTimeout(() => process.exit(0), 10 * 60 * 1000) // never outlive a test
