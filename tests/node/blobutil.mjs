// Helpers of the blob scripts (blob.mjs, blob_flow.mjs): test bytes,
// their raw CIDs, comparisons and the error an XRPC call ends with.
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'

export const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
export const JPEG = [0xff, 0xd8, 0xff, 0xe0]

// "status Error" of a call that should fail, or null if it did not.
export async function failsWith(p) {
  try {
    await p
    return null
  } catch (e) {
    return `${e.status} ${e.error}`
  }
}

// Bytes that start as the named format does, then a pattern.
export function image(magic, size, seed) {
  const b = new Uint8Array(size)
  b.set(magic)
  for (let i = magic.length; i < size; i++) b[i] = (i * 31 + seed) & 255
  return b
}

export async function rawCid(bytes) {
  return CID.createV1(0x55, await sha256.digest(bytes)).toString()
}

export const same = (a, b) =>
  a.length === b.length && a.every((x, i) => x === b[i])
