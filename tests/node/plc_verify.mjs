// Checks what a PLC directory holds for DIDs pdsd made, with the
// reference's own crypto and DAG-CBOR: the genesis operation hashes to
// the DID, every operation is signed by a rotation key of the one
// before it (the genesis by one of its own), each prev is the CID of
// the operation before, and, when a file with pdsd's answer is given,
// the directory's DID document is the one pdsd serves.
//
//   node plc_verify.mjs PLC_URL DID[=ANSWER.json] ...
//
// Prints one "ok DID N" line per DID; exits 1 on the first failure.
import { readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { verifySignature } from '@atproto/crypto'
import { encode, cidForLex } from '@atproto/lex-cbor'

const [plc, ...dids] = process.argv.slice(2)
if (!plc || dids.length === 0) {
  console.error('usage: plc_verify.mjs PLC_URL DID[=ANSWER.json] ...')
  process.exit(2)
}

const fail = (msg) => {
  console.error(`plc_verify: ${msg}`)
  process.exit(1)
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
const base32 = (buf) => {
  let out = ''
  let bits = 0
  let acc = 0
  for (const b of buf) {
    acc = (acc << 8) | b
    bits += 8
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  return bits > 0 ? out + B32[(acc << (5 - bits)) & 31] : out
}

const getJson = async (url) => {
  const res = await fetch(url)
  if (!res.ok) fail(`${url}: HTTP ${res.status}`)
  return res.json()
}

// Same keys, same values; key order does not matter.
const sameJson = (a, b) => {
  if (Array.isArray(a) || Array.isArray(b))
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
      a.every((v, i) => sameJson(v, b[i]))
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    return sameJson(ka, kb) && ka.every((k) => sameJson(a[k], b[k]))
  }
  return a === b
}

const checkOp = async (did, op, i, prevOp, prevCid) => {
  const { sig, ...unsigned } = op
  if (typeof sig !== 'string') fail(`${did} op ${i}: no sig`)
  if (op.type !== 'plc_operation') fail(`${did} op ${i}: type ${op.type}`)
  if (i === 0) {
    if (op.prev !== null) fail(`${did}: genesis prev is ${op.prev}`)
    const h = createHash('sha256').update(encode(op)).digest()
    const want = 'did:plc:' + base32(h).slice(0, 24)
    if (want !== did) fail(`${did}: genesis hashes to ${want}`)
  } else if (op.prev !== prevCid) {
    fail(`${did} op ${i}: prev ${op.prev}, want ${prevCid}`)
  }
  const keys = (prevOp ?? op).rotationKeys
  const data = encode(unsigned)
  const sigBytes = Buffer.from(sig, 'base64url')
  if (sigBytes.toString('base64url') !== sig) fail(`${did} op ${i}: sig is not canonical base64url`)
  for (const k of keys) {
    if (await verifySignature(k, data, sigBytes)) return
  }
  fail(`${did} op ${i}: no rotation key verifies the signature`)
}

for (const arg of dids) {
  const [did, answer] = arg.split('=')
  const audit = await getJson(`${plc}/${did}/log/audit`)
  if (!Array.isArray(audit) || audit.length === 0) fail(`${did}: empty log`)
  let prevOp = null
  let prevCid = null
  for (const [i, e] of audit.entries()) {
    await checkOp(did, e.operation, i, prevOp, prevCid)
    const cid = (await cidForLex(e.operation)).toString()
    if (cid !== e.cid) fail(`${did} op ${i}: CID ${cid}, directory says ${e.cid}`)
    prevOp = e.operation
    prevCid = cid
  }
  if (answer) {
    const ours = JSON.parse(readFileSync(answer, 'utf8')).didDoc
    const theirs = await getJson(`${plc}/${did}`)
    if (!sameJson(ours, theirs))
      fail(`${did}: DID documents differ:\n  pdsd ${JSON.stringify(ours)}\n  plc  ${JSON.stringify(theirs)}`)
  }
  console.log(`ok ${did} ${audit.length}`)
}
