// Who may read: every access path, every 401, and one 404 for everything
// that is not a readable attachment, identical to the byte.
import { randomUUID } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { build, id, JWT_SECRET, serviceToken, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'
import { PNG_1X1 } from '../support/multipart.js'

const ctx = await setup(t)
const { app, logs } = await build(t, ctx)

const dialogId = id('dlg')
const ownerId = id('owner')
const png = await attach(app, dialogId, PNG_1X1, { ownerId, filename: 'photo.png' })
const otherDialog = id('dlg')
const elsewhere = await attach(app, otherDialog, 'text elsewhere', { ownerId })

const url = (d = dialogId, a = png.id) => `/v1/attachments/${d}/${a}`
const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` })
const now = () => Math.floor(Date.now() / 1000)
/** A link token living exactly `ttl` seconds: iat and exp from one reading of the clock. */
const linkToken = (ttl: number) => {
  const iat = now()
  return token({ dlg: dialogId, iat, exp: iat + ttl })
}
const get = (path: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') => app.inject({ method, url: path, headers })

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
  'cross-origin-resource-policy': 'same-site',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store'
}

// What may legitimately differ between two answers: the clock and the budget.
const VARYING = new Set(['date', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'])
function fingerprint (res: LightMyRequestResponse) {
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([name]) => !VARYING.has(name)))
  return { status: res.statusCode, headers, body: res.rawPayload.toString('base64') }
}

t.test('each access path reads the attachment', async (t) => {
  const paths: Array<[string, Record<string, string>, string?]> = [
    ['the owner (sub), Authorization header', bearer(token({ sub: ownerId }))],
    ['the owner, chat_token cookie', { cookie: `theme=dark; chat_token=${token({ sub: ownerId })}` }],
    ['a support agent (attachments:read:any)', bearer(token({ sub: 'agent-1', scope: 'attachments:read:any' }))],
    ['a dialog-scoped token (dlg), header', bearer(token({ sub: 'someone-else', dlg: dialogId }))],
    ['a dialog-scoped link token, ?token=', {}, `?token=${linkToken(600)}`]
  ]
  for (const [name, headers, query] of paths) {
    const res = await get(url() + (query ?? ''), headers)
    t.equal(res.statusCode, 200, name)
    t.ok(res.rawPayload.equals(PNG_1X1), `${name}: the bytes`)
  }
})

t.test('no token or a token that fails verification: 401 with a Bearer challenge', async (t) => {
  const other = (claims: Record<string, unknown>) => {
    const [h, p] = token(claims).split('.')
    return `${h}.${p}.${Buffer.from('not the signature').toString('base64url')}`
  }
  const cases: Array<[string, Record<string, string>, string?]> = [
    ['no token', {}, undefined],
    ['garbage bearer', bearer('not-a-jwt'), 'invalid_token'],
    ['expired', bearer(token({ sub: ownerId, iat: now() - 600, exp: now() - 60 })), 'invalid_token'],
    ['bad signature', bearer(other({ sub: ownerId })), 'invalid_token'],
    ['garbage cookie', { cookie: 'chat_token=nope' }, 'invalid_token'],
    ['a bad header wins over a good cookie', { ...bearer('nope'), cookie: `chat_token=${token({ sub: ownerId })}` }, 'invalid_token']
  ]
  for (const [name, headers, error] of cases) {
    for (const target of [url(), url(dialogId, randomUUID())]) {
      const res = await get(target, headers)
      t.equal(res.statusCode, 401, `${name}: 401 whether or not the attachment exists`)
      t.equal(res.headers['www-authenticate'], `Bearer realm="chat-attachments"${error ? `, error="${error}"` : ''}`, name)
      t.equal(res.json().code, 'ATT_UNAUTHORIZED')
      t.match(res.headers, SECURITY_HEADERS, `${name}: the safety headers, and no caching`)
    }
  }
})

t.test('a query token must be a short-lived link token for this dialog', async (t) => {
  const refused: Array<[string, Record<string, unknown>]> = [
    ['another dialog', { dlg: otherDialog, iat: now(), exp: now() + 60 }],
    ['no dlg (a user token in the URL)', { sub: ownerId, iat: now(), exp: now() + 60 }],
    ['lives longer than QUERY_TOKEN_MAX_TTL_SECONDS', { dlg: dialogId, iat: now(), exp: now() + 601 }],
    ['no iat', { dlg: dialogId, exp: now() + 60, noIat: true }]
  ]
  const withoutIat = createSigner({ key: JWT_SECRET, noTimestamp: true })
  for (const [name, { noIat, ...claims }] of refused) {
    const jwt = noIat ? withoutIat(claims) : token(claims)
    const res = await get(`${url()}?token=${jwt}`)
    t.equal(res.statusCode, 401, name)
    t.equal(res.headers['referrer-policy'], 'no-referrer')
    t.notOk(logs.join('').includes(jwt), `${name}: the token is in no log line`)
  }
  const accepted = linkToken(600)
  t.equal((await get(`${url()}?download=1&token=${accepted}`)).statusCode, 200)
  t.notOk(logs.join('').includes(accepted), 'an accepted query token is in no log line either')
  t.match(logs.join(''), `"url":"${url()}"`, 'the browser URL is logged without its query string')
  t.notMatch(logs.join(''), /download=1/, 'no part of the query string is logged')
})

t.test('everything that is not a readable attachment is the same 404', async (t) => {
  const owner = bearer(token({ sub: ownerId }))
  const cases: Array<[string, string, Record<string, string>]> = [
    ['an unknown id', url(dialogId, randomUUID()), owner],
    ['a malformed id', url(dialogId, 'not-a-uuid'), owner],
    ['a malformed dialog id', url('bad.dialog', png.id), owner],
    ['the attachment under another dialog', url(otherDialog, png.id), owner],
    ['another dialog\'s attachment under this dialog', url(dialogId, elsewhere.id), owner],
    ['a user without access', url(), bearer(token({ sub: 'stranger' }))],
    ['a dlg token of another dialog', url(), bearer(token({ sub: 'stranger', dlg: otherDialog }))],
    ['a service token', url(), bearer(serviceToken())],
    ['an unknown path below /v1', `/v1/attachments/${dialogId}`, owner],
    ['a path parameter over the router\'s length limit', url('d'.repeat(201)), owner],
    ['bad percent-encoding', `/v1/attachments/%E0%A4%A/${png.id}`, owner]
  ]
  const reference = fingerprint(await get(url(dialogId, randomUUID()), owner))
  t.equal(reference.status, 404)
  t.match(reference.headers, SECURITY_HEADERS, 'the safety headers, and no caching')
  t.same(JSON.parse(Buffer.from(reference.body, 'base64').toString()), { statusCode: 404, code: 'ATT_NOT_FOUND', error: 'Not Found', message: 'Attachment not found' })
  for (const [name, target, headers] of cases) {
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await get(target, headers, method)
      const expected = method === 'GET' ? reference : { ...reference, body: '' }
      t.same(fingerprint(res), expected, `${method} ${name}`)
    }
  }
})

t.test('staged (not yet linked) files are readable too, for a composer preview', async (t) => {
  const staged = await attach(app, dialogId, 'draft', { ownerId, filename: 'draft.txt' })
  t.equal((await get(url(dialogId, staged.id), bearer(token({ sub: ownerId })))).statusCode, 200)
})

t.test('a failing database is a 503, never a 404 (forced: Postgres on a closed port)', async (t) => {
  const broken = await build(t, ctx, { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' })
  const res = await broken.app.inject({ method: 'GET', url: url(), headers: bearer(token({ sub: ownerId })) })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'ATT_UNAVAILABLE')
  t.equal(res.headers['cache-control'], 'no-store')
})
