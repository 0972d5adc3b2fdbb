// The official client through an account's whole life on pdsd, as an
// app drives it: invite-only sign-up with a code from pdsctl, login,
// a session saved and resumed, refresh rotation (two tabs refreshing
// with one token at once), logout, app passwords and what their
// sessions may not do, a handle change, deactivation and deletion with
// the operator's token.  Errors are checked by the status and XRPC
// error name the reference PDS answers with.  Prints TAP.
//
//	node account.mjs URL PDSCTL CONTROL-SOCKET
//
// The server must run with "registration invite".  Two limits of time
// are not tested here, since waiting is not a test: an access token
// past its 2 hours and a spent refresh token past its 2-hour grace are
// tests/unit/test_auth.c's (test_tokens, test_rotation, with their own
// clock).
import { execFileSync } from 'node:child_process'
import { AtpAgent } from '@atproto/api'
import { done, ok, step } from './tap.mjs'

const [service, pdsctl, sock] = process.argv.slice(2)

// "status error" of a call that fails, or "ok".
async function outcome(p) {
  try {
    await p
    return 'ok'
  } catch (e) {
    return `${e.status} ${e.error}`
  }
}

// The same, for a request the client would not send as it is.
async function raw(nsid, body, token) {
  const headers = { 'content-type': 'application/json' }
  if (token) headers.authorization = `Bearer ${token}`
  const r = await fetch(`${service}/xrpc/${nsid}`, {
    method: 'POST', headers, body: JSON.stringify(body),
  })
  const o = await r.json().catch(() => ({}))
  return `${r.status} ${o.error} ${o.message}`
}

function ctl(...args) {
  return execFileSync(pdsctl, ['-s', sock, ...args], { encoding: 'utf8' }).trim()
}

function jti(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url')).jti
}

function claim(jwt, k) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'))[k]
}

const HANDLE = 'dora.test'
const PASSWORD = 'pw-dora-correct-1'
const EMAIL = 'dora@example.com'
const port = new URL(service).port
const server = () => new AtpAgent({ service }).com.atproto.server
let did
let saved // what an app keeps on disk between runs
const persisted = []
const agent = new AtpAgent({
  service,
  persistSession: (evt, s) => {
    persisted.push(evt)
    if (s) saved = JSON.parse(JSON.stringify(s))
  },
})

await step('invite-only registration', async () => {
  const d = (await server().describeServer()).data
  ok(d.inviteCodeRequired === true &&
    JSON.stringify(d.availableUserDomains) === '[".test"]',
  'describeServer: invite code required, .test', d)
  const acct = { handle: HANDLE, email: EMAIL, password: PASSWORD }
  ok(await outcome(new AtpAgent({ service }).createAccount(acct)) ===
    '400 InvalidInviteCode', 'createAccount without a code: 400 InvalidInviteCode')
  ok(await outcome(new AtpAgent({ service }).createAccount({
    ...acct, inviteCode: 'localhost-aaaaa-bbbbb' })) === '400 InvalidInviteCode',
  'createAccount with a wrong code: 400 InvalidInviteCode')
  const code = ctl('invite', 'create')
  ok(/^localhost-[a-z2-7]{5}-[a-z2-7]{5}$/.test(code), 'pdsctl invite create', code)
  const r = await agent.createAccount({ ...acct, inviteCode: code })
  did = r.data.did
  ok(/^did:plc:[a-z2-7]{24}$/.test(did) && agent.session?.did === did &&
    agent.session?.handle === HANDLE, 'createAccount with the code: a did:plc session')
  ok(agent.pdsUrl?.href === `http://localhost:${port}/`,
    'the client moved to the DID document\'s endpoint', agent.pdsUrl?.href)
  ok(await outcome(new AtpAgent({ service }).createAccount({
    handle: 'dora2.test', email: 'dora2@example.com', password: PASSWORD,
    inviteCode: code })) === '400 InvalidInviteCode',
  'the spent code does not make a second account')
})

await step('login', async () => {
  const r = await agent.login({ identifier: HANDLE, password: PASSWORD })
  ok(r.data.did === did && r.data.active === true && r.data.email === EMAIL &&
    r.data.didDoc?.id === did && agent.hasSession, 'login', r.data)
  ok(persisted.join() === 'create,create' && saved?.refreshJwt === r.data.refreshJwt,
    'the app was given the session to keep', persisted)
  ok(await outcome(new AtpAgent({ service }).login({ identifier: HANDLE,
    password: 'pw-wrong-123' })) === '401 AuthenticationRequired',
  'login with a wrong password: 401 AuthenticationRequired')
})

// Missing fields the client would not let through its types.
await step('missing fields', async () => {
  ok(await raw('com.atproto.server.createSession', { identifier: HANDLE }) ===
    '400 InvalidRequest Missing required key "password" at $',
  'createSession without a password: 400 InvalidRequest')
  ok(await raw('com.atproto.server.createAppPassword', {},
    agent.session.accessJwt) ===
    '400 InvalidRequest Missing required key "name" at $',
  'createAppPassword without a name: 400 InvalidRequest')
  ok(await raw('com.atproto.server.revokeAppPassword', {},
    agent.session.accessJwt) ===
    '400 InvalidRequest Missing required key "name" at $',
  'revokeAppPassword without a name: 400 InvalidRequest')
  ok(await raw('com.atproto.server.deleteAccount', { did, token: 'AAAAA-BBBBB' }) ===
    '400 InvalidRequest Missing required key "password" at $',
  'deleteAccount without a password: 400 InvalidRequest')
})

await step('resume a saved session', async () => {
  const keep = saved
  const tab = new AtpAgent({ service })
  await tab.resumeSession(keep)
  ok(tab.session?.did === did && tab.session.refreshJwt !== keep.refreshJwt &&
    tab.pdsUrl?.href === `http://localhost:${port}/`,
  'resumeSession: a fresh pair, the PDS endpoint learnt')
  const s = (await tab.com.atproto.server.getSession()).data
  ok(s.handle === HANDLE && s.did === did, 'the resumed session works', s)
  // The first agent still holds the token the tab just spent: within
  // the grace it gets the successor the tab got.
  await agent.sessionManager.refreshSession()
  ok(jti(agent.session.refreshJwt) === jti(tab.session.refreshJwt),
    'refreshSession with a spent token within the grace: the same successor')
  ok(claim(agent.session.accessJwt, 'scope') === 'com.atproto.access',
    'the refreshed access token has the full scope')
})

await step('two tabs refresh at once', async () => {
  const one = new AtpAgent({ service })
  await one.login({ identifier: did, password: PASSWORD })
  const s = one.session
  const a = new AtpAgent({ service })
  const b = new AtpAgent({ service })
  const r = await Promise.allSettled([a.resumeSession(s), b.resumeSession(s)])
  ok(r.every((x) => x.status === 'fulfilled'), 'both concurrent refreshes succeed',
    r.map((x) => x.reason?.message))
  const ja = a.session && jti(a.session.refreshJwt)
  ok(ja && ja === jti(b.session.refreshJwt) && ja !== jti(s.refreshJwt),
    'both get the same successor')
  const [ga, gb] = await Promise.all([outcome(a.com.atproto.server.getSession()),
    outcome(b.com.atproto.server.getSession())])
  ok(ga === 'ok' && gb === 'ok', 'both tabs keep working', [ga, gb])

  // Logging out in one tab revokes the refresh token the other holds too.
  await a.logout()
  ok(!a.hasSession, 'logout')
  ok(await outcome(b.sessionManager.refreshSession()) === '400 ExpiredToken',
    'refresh with the token deleteSession revoked: 400 ExpiredToken')
  ok(!b.hasSession, 'the client drops the dead session')
  ok(await outcome(new AtpAgent({ service }).resumeSession({ ...s,
    refreshJwt: s.accessJwt })) === '400 InvalidToken',
  'resumeSession with an access token for a refresh token: 400 InvalidToken')
})

let appw, privw
await step('app passwords', async () => {
  const srv = agent.com.atproto.server
  const a = (await srv.createAppPassword({ name: 'phone' })).data
  const p = (await srv.createAppPassword({ name: 'laptop', privileged: true })).data
  appw = a.password
  privw = p.password
  ok(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/.test(appw) && a.name === 'phone' &&
    p.privileged === true, 'createAppPassword, plain and privileged', [a, p])
  ok(await outcome(srv.createAppPassword({ name: 'phone' })) === '400 InvalidRequest',
    'createAppPassword with a name in use: 400 InvalidRequest')
  const l = (await srv.listAppPasswords()).data.passwords
  ok(JSON.stringify(l.map((x) => [x.name, !!x.privileged]).sort()) ===
    '[["laptop",true],["phone",false]]' && l.every((x) => !x.password),
  'listAppPasswords: names and privilege, no secrets', l)

  const app = new AtpAgent({ service })
  await app.login({ identifier: HANDLE, password: appw })
  const priv = new AtpAgent({ service })
  await priv.login({ identifier: EMAIL, password: privw })
  ok(claim(app.session.accessJwt, 'scope') === 'com.atproto.appPass' &&
    claim(priv.session.accessJwt, 'scope') === 'com.atproto.appPassPrivileged',
  'logins with app passwords get their scopes')
  ok(await outcome(app.post({ text: 'from the phone' })) === 'ok',
    'an app-password session writes')

  // What only the account's own password may do.
  for (const [who, ag] of [['app', app], ['privileged app', priv]]) {
    const s = ag.com.atproto.server
    const refused = {
      createAppPassword: await outcome(s.createAppPassword({ name: 'more' })),
      requestAccountDelete: await outcome(s.requestAccountDelete()),
      activateAccount: await outcome(s.activateAccount()),
      getAccountInviteCodes: await outcome(s.getAccountInviteCodes()),
      requestEmailUpdate: await outcome(s.requestEmailUpdate()),
    }
    ok(Object.values(refused).every((x) => x === '400 InvalidToken'),
      `${who} session: createAppPassword, requestAccountDelete, ` +
      'activateAccount, getAccountInviteCodes, requestEmailUpdate: ' +
      '400 InvalidToken', refused)
  }
  ok(await raw('com.atproto.server.deleteAccount', { did, password: appw,
    token: 'AAAAA-BBBBB' }) ===
    '401 AuthenticationRequired Invalid did or password',
  'deleteAccount with an app password: 401 AuthenticationRequired')

  await srv.revokeAppPassword({ name: 'phone' })
  ok(await outcome(new AtpAgent({ service }).login({ identifier: HANDLE,
    password: appw })) === '401 AuthenticationRequired',
  'a revoked app password: 401 AuthenticationRequired')
  ok(await outcome(app.sessionManager.refreshSession()) === '400 ExpiredToken',
    'its session cannot be refreshed: 400 ExpiredToken')
  const left = (await srv.listAppPasswords()).data.passwords.map((x) => x.name)
  ok(JSON.stringify(left) === '["laptop"]', 'revokeAppPassword', left)
  ok(await outcome(priv.com.atproto.server.revokeAppPassword({ name: 'laptop' })) ===
    'ok', 'an app-password session may revoke app passwords, as in the reference')
})

let handle = HANDLE
await step('updateHandle', async () => {
  const id = agent.com.atproto.identity
  await id.updateHandle({ handle: 'dora-new.test' })
  handle = 'dora-new.test'
  const r = (await id.resolveHandle({ handle })).data
  ok(r.did === did, 'the new handle resolves to the DID', r)
  ok(await outcome(id.resolveHandle({ handle: HANDLE })) === '400 HandleNotFound',
    'the old one does not: 400 HandleNotFound')
  const s = (await agent.com.atproto.server.getSession()).data
  ok(s.handle === handle && s.didDoc?.alsoKnownAs?.[0] === `at://${handle}`,
    'getSession and the DID document name it', s)
  await agent.login({ identifier: handle, password: PASSWORD })
  ok(agent.session.handle === handle, 'login by the new handle')
  const taken = new AtpAgent({ service })
  const code = ctl('invite', 'create')
  await taken.createAccount({ handle: 'erik.test', email: 'erik@example.com',
    password: 'pw-erik-1234', inviteCode: code })
  ok(await outcome(id.updateHandle({ handle: 'erik.test' })) === '400 InvalidRequest',
    'updateHandle to a taken handle: 400 InvalidRequest')
})

await step('deactivate and activate', async () => {
  const srv = agent.com.atproto.server
  const write = () => agent.com.atproto.repo.createRecord({
    repo: did, collection: 'app.bsky.feed.post',
    record: { $type: 'app.bsky.feed.post', text: 'x', createdAt: new Date().toISOString() },
  })
  await srv.deactivateAccount({})
  const s = (await srv.getSession()).data
  ok(s.active === false && s.status === 'deactivated', 'deactivateAccount', s)
  ok(await outcome(write()) === '401 AccountDeactivated',
    'a deactivated account cannot write: 401 AccountDeactivated')
  ok(await outcome(agent.com.atproto.sync.getLatestCommit({ did })) ===
    '400 RepoDeactivated', 'nor is its repository served: 400 RepoDeactivated')
  await srv.activateAccount()
  const t = (await srv.getSession()).data
  ok(t.active === true && t.status === undefined, 'activateAccount', t)
  ok(await outcome(write()) === 'ok', 'it writes again')
})

await step('delete', async () => {
  const srv = agent.com.atproto.server
  await srv.requestAccountDelete()
  const token = ctl('account', 'delete-token', handle)
  ok(/^[A-Z2-7]{5}-[A-Z2-7]{5}$/.test(token), 'pdsctl account delete-token', token)
  ok(await outcome(srv.deleteAccount({ did, password: 'pw-wrong-123', token })) ===
    '401 AuthenticationRequired', 'deleteAccount with a wrong password: 401')
  ok(await outcome(srv.deleteAccount({ did, password: PASSWORD,
    token: 'AAAAA-BBBBB' })) === '400 InvalidToken',
  'deleteAccount with a wrong token: 400 InvalidToken')
  await srv.deleteAccount({ did, password: PASSWORD, token })
  ok(true, 'deleteAccount with the operator\'s token')
  ok(await outcome(new AtpAgent({ service }).login({ identifier: handle,
    password: PASSWORD })) === '401 AuthenticationRequired',
  'the deleted account cannot log in')
  ok(await outcome(agent.com.atproto.identity.resolveHandle({ handle })) ===
    '400 HandleNotFound', 'its handle is gone')
  ok(await outcome(agent.sessionManager.refreshSession()) !== 'ok',
    'its sessions are gone')
})

done()
