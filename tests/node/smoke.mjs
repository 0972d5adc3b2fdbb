// Loads the pinned clients: proves the install works before any test
// relies on it.
import { AtpAgent } from '@atproto/api'
import { MemoryBlockstore } from '@atproto/repo'
import { Secp256k1Keypair } from '@atproto/crypto'
const k = await Secp256k1Keypair.create()
if (!k.did().startsWith('did:key:z') || !AtpAgent || !MemoryBlockstore)
  process.exit(1)
console.log('ok')
