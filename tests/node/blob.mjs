// The official client against pdsd's blob methods, as a client app uses
// them: upload an image, post it with an embed, set an avatar, fetch
// both back byte for byte, list them; a blob over the limit and a post
// naming a blob never uploaded are refused; a deleted post's blob
// leaves the listing.  The daemon runs with "blob max size 100000".
// Prints TAP.
//
//	node blob.mjs URL HANDLE PASSWORD
import { AtpAgent, BlobRef } from '@atproto/api'
import { CID } from 'multiformats/cid'
import { ok, step, done } from './tap.mjs'
import { PNG, JPEG, failsWith, image, rawCid, same } from './blobutil.mjs'

const [service, handle, password] = process.argv.slice(2)
const POST = 'app.bsky.feed.post'
const agent = new AtpAgent({ service })
let did

await step('createAccount', async () => {
  const r = await agent.createAccount({
    handle, password, email: `${handle}@example.com`,
  })
  did = r.data.did
  ok(agent.session?.did === did, 'createAccount and session')
})

const photo = image(PNG, 20000, 1)
const avatar = image(JPEG, 4000, 2)
let photoRef, avatarRef, post

await step('uploadBlob', async () => {
  const r = await agent.uploadBlob(photo, { encoding: 'image/png' })
  photoRef = r.data.blob
  ok(photoRef.ref.toString() === await rawCid(photo) &&
    photoRef.mimeType === 'image/png' && photoRef.size === photo.length,
    'uploadBlob answers the CID of the bytes', photoRef)
  const again = await agent.uploadBlob(photo, { encoding: 'image/png' })
  ok(again.data.blob.ref.toString() === photoRef.ref.toString(),
    'the same bytes again: the same blob')
})

await step('post with an image embed', async () => {
  post = await agent.post({
    text: 'a picture',
    embed: {
      $type: 'app.bsky.embed.images',
      images: [{ alt: 'pattern', image: photoRef }],
    },
  })
  const r = await agent.com.atproto.repo.getRecord({
    repo: did, collection: POST, rkey: post.uri.split('/').pop(),
  })
  ok(r.data.value.embed.images[0].image.ref.toString() ===
    photoRef.ref.toString(), 'the post names the blob', r.data.value)
})

await step('avatar', async () => {
  const r = await agent.uploadBlob(avatar, { encoding: 'image/jpeg' })
  avatarRef = r.data.blob
  await agent.upsertProfile((p) => ({ ...p, displayName: 'Dave', avatar: avatarRef }))
  const p = await agent.com.atproto.repo.getRecord({
    repo: did, collection: 'app.bsky.actor.profile', rkey: 'self',
  })
  ok(p.data.value.avatar.ref.toString() === avatarRef.ref.toString() &&
    p.data.value.avatar.mimeType === 'image/jpeg', 'upsertProfile with an avatar')
})

await step('getBlob', async () => {
  const a = await agent.com.atproto.sync.getBlob({ did, cid: photoRef.ref.toString() })
  ok(same(a.data, photo) && a.headers['content-type'] === 'image/png',
    'getBlob: the photo byte for byte', a.headers)
  const b = await agent.com.atproto.sync.getBlob({ did, cid: avatarRef.ref.toString() })
  ok(same(b.data, avatar) && b.headers['content-type'] === 'image/jpeg',
    'getBlob: the avatar byte for byte')
})

await step('listBlobs', async () => {
  const r = await agent.com.atproto.sync.listBlobs({ did })
  const want = [photoRef.ref.toString(), avatarRef.ref.toString()].sort()
  ok(JSON.stringify(r.data.cids) === JSON.stringify(want), 'listBlobs', r.data)
})

await step('refusals', async () => {
  const e = await failsWith(agent.uploadBlob(image(PNG, 100001, 3),
    { encoding: 'image/png' }))
  ok(e === '413 PayloadTooLargeError', 'a blob over the limit: 413', e)
  const fake = await rawCid(image(PNG, 10, 4))
  const e2 = await failsWith(agent.post({
    text: 'nothing',
    embed: {
      $type: 'app.bsky.embed.images',
      images: [{ alt: '', image: new BlobRef(CID.parse(fake), 'image/png', 10) }],
    },
  }))
  ok(e2 === '400 BlobNotFound', 'a post naming a blob never uploaded', e2)
  const e3 = await failsWith(agent.com.atproto.sync.getBlob({ did, cid: fake }))
  ok(e3 === '400 BlobNotFound', 'getBlob of it', e3)
})

await step('delete the post', async () => {
  await agent.deletePost(post.uri)
  const r = await agent.com.atproto.sync.listBlobs({ did })
  ok(JSON.stringify(r.data.cids) === JSON.stringify([avatarRef.ref.toString()]),
    'its blob leaves listBlobs, the avatar stays', r.data)
})

done()
