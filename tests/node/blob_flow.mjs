// The official client through the blob flows tests/regress/blob_admin.sh
// drives around the operator's commands.  Prints TAP.
//
//	node blob_flow.mjs URL HANDLE PASSWORD uploads OUT.json
//		createAccount; an empty upload, a mismatched one and one past
//		the quota refused; a post with an image embed and an avatar,
//		fetched back byte for byte; the post deleted again.  The CIDs
//		go to OUT.json for the script's checks.  The daemon runs with
//		"blob max size 100000" and "blob quota 60000".
//	node blob_flow.mjs URL HANDLE PASSWORD missing FILE...
//		After an import (pdsctl import): listMissingBlobs names the
//		blobs the records use; uploadBlob of each FILE empties it,
//		one at a time; getBlob gives them back.
import fs from 'fs'
import { AtpAgent, BlobRef } from '@atproto/api'
import { ok, step, done } from './tap.mjs'
import { PNG, JPEG, failsWith, image, rawCid, same } from './blobutil.mjs'

const [service, handle, password, phase, ...rest] = process.argv.slice(2)
const POST = 'app.bsky.feed.post'
const agent = new AtpAgent({ service })

// A post whose one image is ref.
const imagePost = (text, ref) => ({
  text,
  embed: { $type: 'app.bsky.embed.images', images: [{ alt: '', image: ref }] },
})

async function uploads(out) {
  const photo = image(PNG, 30000, 5)
  const avatar = image(JPEG, 2000, 6)
  const jpeg = image(JPEG, 3000, 7)
  const r = { did: null }

  await step('createAccount', async () => {
    const a = await agent.createAccount({
      handle, password, email: `${handle}@example.com`,
    })
    r.did = a.data.did
    ok(agent.session?.did === r.did, 'createAccount and session')
  })

  await step('empty upload', async () => {
    const e = await failsWith(agent.uploadBlob(new Uint8Array(0),
      { encoding: 'image/png' }))
    ok(e === '400 InvalidRequest', 'an empty uploadBlob: 400 InvalidRequest', e)
  })

  await step('mismatched upload', async () => {
    const b = (await agent.uploadBlob(jpeg, { encoding: 'image/png' })).data.blob
    r.jpeg = b.ref.toString()
    ok(b.mimeType === 'image/jpeg' && b.size === jpeg.length &&
      r.jpeg === await rawCid(jpeg),
      'JPEG bytes sent as image/png: stored as image/jpeg', b)
    const e = await failsWith(agent.post(imagePost('wrong type',
      new BlobRef(b.ref, 'image/png', b.size))))
    ok(e === '400 InvalidMimeType', 'a post naming it image/png: InvalidMimeType', e)
    const e2 = await failsWith(agent.post(imagePost('wrong size',
      new BlobRef(b.ref, 'image/jpeg', b.size + 1))))
    ok(e2 === '400 InvalidSize', 'a post naming the wrong size: InvalidSize', e2)
  })

  await step('post with an image, avatar', async () => {
    const p = (await agent.uploadBlob(photo, { encoding: 'image/png' })).data.blob
    r.photo = p.ref.toString()
    const post = await agent.post(imagePost('a picture', p))
    const av = (await agent.uploadBlob(avatar, { encoding: 'image/jpeg' })).data.blob
    r.avatar = av.ref.toString()
    await agent.upsertProfile((old) => ({ ...old, displayName: 'Erin', avatar: av }))
    const prof = await agent.com.atproto.repo.getRecord({
      repo: r.did, collection: 'app.bsky.actor.profile', rkey: 'self',
    })
    ok(prof.data.value.avatar.ref.toString() === r.avatar, 'the avatar is set')
    const g1 = await agent.com.atproto.sync.getBlob({ did: r.did, cid: r.photo })
    const g2 = await agent.com.atproto.sync.getBlob({ did: r.did, cid: r.avatar })
    ok(same(g1.data, photo) && same(g2.data, avatar),
      'getBlob: the photo and the avatar byte for byte')
    r.post = post.uri
  })

  await step('quota', async () => {
    // 35000 bytes held of 60000: 30000 more do not fit.
    const e = await failsWith(agent.uploadBlob(image(PNG, 30000, 8),
      { encoding: 'image/png' }))
    ok(e === '413 PayloadTooLargeError', 'an upload past the quota: 413', e)
    const small = await agent.uploadBlob(image(PNG, 100, 9),
      { encoding: 'image/png' })
    r.small = small.data.blob.ref.toString()
    ok(small.data.blob.size === 100, 'one that fits is taken')
  })

  await step('delete the post', async () => {
    await agent.deletePost(r.post)
    const l = await agent.com.atproto.sync.listBlobs({ did: r.did })
    ok(JSON.stringify(l.data.cids) === JSON.stringify([r.avatar]),
      'only the avatar is still used', l.data)
  })
  fs.writeFileSync(out, JSON.stringify(r))
}

async function missing(files) {
  await agent.login({ identifier: handle, password })
  const did = agent.session.did
  const byCid = new Map()
  for (const f of files) {
    const b = new Uint8Array(fs.readFileSync(f))
    byCid.set(await rawCid(b), b)
  }
  const list = async () =>
    (await agent.com.atproto.repo.listMissingBlobs({})).data.blobs
  let left = await list()
  ok(left.length === files.length && left.every((m) => byCid.has(m.cid)),
    `listMissingBlobs after the import: the ${files.length} blobs`, left)
  const want = left.length
  for (let i = 0; i < want && left.length > 0; i++) {
    const m = left[0]
    const b = byCid.get(m.cid)
    if (b === undefined) break
    const up = await agent.uploadBlob(b, { encoding: 'application/octet-stream' })
    ok(up.data.blob.ref.toString() === m.cid, `uploadBlob of ${m.cid}`)
    const now = await list()
    ok(now.length === left.length - 1 && !now.some((x) => x.cid === m.cid),
      `${want - now.length} of ${want} uploaded: it leaves the listing`, now)
    left = now
  }
  ok(left.length === 0, 'listMissingBlobs is empty')
  for (const [cid, b] of byCid) {
    const g = await agent.com.atproto.sync.getBlob({ did, cid })
    ok(same(g.data, b), `getBlob ${cid} byte for byte`)
  }
}

if (phase === 'uploads')
  await step('uploads', () => uploads(rest[0]))
else if (phase === 'missing')
  await step('missing', () => missing(rest))
else
  ok(false, `unknown phase ${phase}`)
done()
