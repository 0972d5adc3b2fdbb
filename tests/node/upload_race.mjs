// upload_race.mjs PORT TOKEN MODE FILE...: one uploadBlob per file, all
// on their own connections at once, each body sent in two halves with a
// pause between, so that every upload is under way before any ends.
// MODE is "length" (Content-Length) or "chunked".  Prints each
// upload's status, in the order of the files, on one line.  Bounded: a
// connection not answered within 30 s counts as 0.
import fs from 'node:fs'
import net from 'node:net'

const [port, token, mode, ...files] = process.argv.slice(2)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function head(len) {
  return 'POST /xrpc/com.atproto.repo.uploadBlob HTTP/1.1\r\nHost: x\r\n' +
    `Authorization: Bearer ${token}\r\nContent-Type: application/octet-stream\r\n` +
    (mode === 'chunked' ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${len}\r\n`) +
    'Connection: close\r\n\r\n'
}

function piece(b) {
  return mode === 'chunked' ? Buffer.concat([Buffer.from(b.length.toString(16) + '\r\n'), b,
    Buffer.from('\r\n')]) : b
}

function start(file) {
  const b = fs.readFileSync(file)
  const half = b.length >> 1
  const s = net.connect(+port, '127.0.0.1')
  let got = ''
  const done = new Promise((resolve) => {
    const t = setTimeout(() => { s.destroy(); resolve(0) }, 30000)
    const end = () => {
      clearTimeout(t)
      const m = got.match(/^HTTP\/1\.1 (\d{3})/)
      resolve(m ? +m[1] : 0)
    }
    s.on('data', (d) => { got += d.toString('latin1') })
    s.on('error', () => {})
    s.on('close', end)
  })
  s.write(head(b.length))
  s.write(piece(b.subarray(0, half)))
  const rest = () => {
    if (s.destroyed || got !== '') return
    s.write(piece(b.subarray(half)))
    if (mode === 'chunked') s.write('0\r\n\r\n')
  }
  return { done, rest }
}

const ups = files.map(start)
await sleep(500)
for (const u of ups) u.rest()
console.log((await Promise.all(ups.map((u) => u.done))).join(' '))
