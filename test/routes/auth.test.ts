// Service-token authentication of /internal/v1 (RFC 6750 challenges, scope
// check, algorithm pinning), against the real app and Postgres.
import { createHmac, generateKeyPairSync } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { build, id, JWT_SECRET, setup } from '../helper.js'

const ctx = await setup(t)
const messageId = id('m')
const url = `/internal/v1/dialogs/${id('d')}/attachments?messageId=${messageId}`
const WRITE = 'attachments:write'
const REALM = 'Bearer realm="chat-attachments"'

const now = () => Math.floor(Date.now() / 1000)
const claims = (extra: Record<string, unknown> = {}) => ({ iat: now(), exp: now() + 300, scope: WRITE, ...extra })
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

function sign (key: string, algorithm: 'HS256' | 'HS512' | 'RS256' | 'ES256', payload: Record<string, unknown>): string {
  return createSigner({ key, algorithm })(payload)
}

/** HS256 by hand: fast-jwt's signer refuses a PEM as an HMAC secret, an attacker does not. */
function hmacToken (secret: string, payload: Record<string, unknown>): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

async function get (app: FastifyInstance, headers: Record<string, string> = {}, path = url) {
  return app.inject({ method: 'GET', url: path, headers })
}

const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` })

const { app, logs } = await build(t, ctx)

t.test('a valid HS256 service token passes', async (t) => {
  const res = await get(app, bearer(sign(JWT_SECRET, 'HS256', claims())))
  t.equal(res.statusCode, 200)
  t.same(res.json(), { messageId, attachments: [] })
  const lower = await get(app, { authorization: `bearer ${sign(JWT_SECRET, 'HS256', claims())}` })
  t.equal(lower.statusCode, 200, 'the scheme name is case-insensitive (RFC 9110 §11.1)')
})

t.test('no token: 401 with a bare challenge', async (t) => {
  const cases: Array<[string, Record<string, string>]> = [
    ['no header', {}],
    ['non-Bearer scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['Bearer without a token', { authorization: 'Bearer ' }]
  ]
  for (const [name, headers] of cases) {
    const res = await get(app, headers)
    t.equal(res.statusCode, 401, name)
    t.equal(res.headers['www-authenticate'], REALM, `${name}: no error attribute without a token (RFC 6750 §3.1)`)
    t.match(res.json(), { statusCode: 401, code: 'ATT_UNAUTHORIZED', error: 'Unauthorized' }, name)
  }
})

t.test('a bad token: 401 with error="invalid_token"', async (t) => {
  const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const noExp = createSigner({ key: JWT_SECRET, algorithm: 'HS256' })({ scope: WRITE })
  const cases: Array<[string, string]> = [
    ['garbage', 'not-a-jwt'],
    ['expired', sign(JWT_SECRET, 'HS256', claims({ iat: now() - 600, exp: now() - 60 }))],
    ['without exp', noExp],
    ['not valid yet (nbf in the future)', sign(JWT_SECRET, 'HS256', claims({ nbf: now() + 120 }))],
    ['signed with another secret', sign('another-secret-that-is-long-enough-for-hs256', 'HS256', claims())],
    ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`],
    ['HS512 with the right secret (algorithm pinned to HS256)', sign(JWT_SECRET, 'HS512', claims())],
    ['RS256 with some RSA key', sign(otherRsa, 'RS256', claims())],
    ['a tampered payload', (() => {
      const [header, , signature] = sign(JWT_SECRET, 'HS256', claims({ scope: 'attachments:read' })).split('.')
      return `${header}.${b64(claims())}.${signature}`
    })()]
  ]
  t.notOk(JSON.parse(Buffer.from(noExp.split('.')[1]!, 'base64url').toString()).exp, 'the no-exp token really has no exp')
  for (const [name, jwt] of cases) {
    const res = await get(app, bearer(jwt))
    t.equal(res.statusCode, 401, name)
    t.equal(res.headers['www-authenticate'], `${REALM}, error="invalid_token"`, name)
    t.match(res.json(), { statusCode: 401, code: 'ATT_UNAUTHORIZED', error: 'Unauthorized' }, name)
  }
})

t.test('scope: 403 insufficient_scope unless attachments:write is one of the scopes', async (t) => {
  const forbidden: Array<[string, Record<string, unknown>]> = [
    ['no scope claim', { scope: undefined }],
    ['another scope', { scope: 'attachments:read' }],
    ['a scope that merely contains it', { scope: 'attachments:writer' }],
    ['a scope it merely ends', { scope: 'x-attachments:write' }],
    ['an empty scope', { scope: '' }]
  ]
  for (const [name, extra] of forbidden) {
    const res = await get(app, bearer(sign(JWT_SECRET, 'HS256', claims(extra))))
    t.equal(res.statusCode, 403, name)
    t.equal(res.headers['www-authenticate'], `${REALM}, error="insufficient_scope", scope="${WRITE}"`, name)
    t.match(res.json(), { statusCode: 403, code: 'ATT_FORBIDDEN', error: 'Forbidden' }, name)
  }
  const listed = await get(app, bearer(sign(JWT_SECRET, 'HS256', claims({ scope: `attachments:read ${WRITE} profile` }))))
  t.equal(listed.statusCode, 200, 'a space-separated list containing the scope passes')
})

t.test('tokens never reach the logs: header, ?token= and Cookie', async (t) => {
  const secrets = [sign(JWT_SECRET, 'HS256', claims({ jti: 'a' })), sign(JWT_SECRET, 'HS256', claims({ jti: 'b' })), sign(JWT_SECRET, 'HS256', claims({ jti: 'c' }))]
  const [header, query, cookie] = secrets as [string, string, string]
  const before = logs.length
  t.equal((await get(app, bearer(header))).statusCode, 200)
  t.equal((await get(app, {}, `${url}&token=${query}`)).statusCode, 401, 'a query token is not accepted either')
  t.equal((await get(app, { cookie: `session=${cookie}; token=${cookie}` })).statusCode, 401)
  t.equal((await get(app, bearer(header), `${url}&access_token=${query}`)).statusCode, 200)
  const written = logs.slice(before).join('')
  // The URL is logged (redacted), so the check below looks at real request lines.
  t.match(written, `messageId=${messageId}&token=[REDACTED]`)
  t.match(written, 'access_token=[REDACTED]')
  for (const secret of secrets) {
    t.notOk(written.includes(secret), 'no whole token in the logs')
    t.notOk(written.includes(secret.split('.')[2]!), 'no token signature in the logs')
  }
})

t.test('issuer and audience, when configured, are checked and required', async (t) => {
  const { app } = await build(t, ctx, { JWT_ISSUER: 'chat-app', JWT_AUDIENCE: 'chat-attachments' })
  const status = async (extra: Record<string, unknown>) => (await get(app, bearer(sign(JWT_SECRET, 'HS256', claims(extra))))).statusCode
  t.equal(await status({ iss: 'chat-app', aud: 'chat-attachments' }), 200, 'right iss and aud')
  t.equal(await status({ iss: 'chat-app', aud: ['other', 'chat-attachments'] }), 200, 'aud as a list that holds ours')
  t.equal(await status({ iss: 'evil', aud: 'chat-attachments' }), 401, 'wrong iss')
  t.equal(await status({ iss: 'chat-app', aud: 'other-service' }), 401, 'wrong aud')
  t.equal(await status({ aud: 'chat-attachments' }), 401, 'missing iss')
  t.equal(await status({ iss: 'chat-app' }), 401, 'missing aud')
})

t.test('RS256 public key', async (t) => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const variants: Array<[string, string]> = [['PEM', publicPem], ['PEM with literal \\n escapes', publicPem.trim().replaceAll('\n', '\\n')]]
  for (const [name, configured] of variants) {
    t.test(name, async (t) => {
      const { app, config } = await build(t, ctx, { JWT_SECRET: undefined, JWT_PUBLIC_KEY: configured })
      t.equal(config.JWT_PUBLIC_KEY, configured, 'the app really runs with this form of the key')
      t.equal((await get(app, bearer(sign(privatePem, 'RS256', claims())))).statusCode, 200, 'an RS256 token passes')
      t.equal((await get(app, bearer(sign(privatePem, 'RS256', claims({ scope: 'other' }))))).statusCode, 403, 'scope still checked')
      // Algorithm confusion: an attacker HMACs with the (public) PEM as the secret.
      for (const secret of [publicPem, publicPem.trim(), configured]) {
        const res = await get(app, bearer(hmacToken(secret, claims())))
        t.equal(res.statusCode, 401, 'HS256 signed with the public key is refused')
        t.equal(res.headers['www-authenticate'], `${REALM}, error="invalid_token"`)
      }
      t.equal((await get(app, bearer(sign(JWT_SECRET, 'HS256', claims())))).statusCode, 401, 'an HS256 token is refused')
    })
  }
})

t.test('ES256 with a P-256 key passes; a token from another P-256 key does not', async (t) => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const { app } = await build(t, ctx, { JWT_SECRET: undefined, JWT_PUBLIC_KEY: publicPem })
  const es256 = (key: typeof pair.privateKey) => sign(key.export({ type: 'pkcs8', format: 'pem' }).toString(), 'ES256', claims())
  t.equal((await get(app, bearer(es256(pair.privateKey)))).statusCode, 200)
  t.equal((await get(app, bearer(es256(other.privateKey)))).statusCode, 401)
  t.equal((await get(app, bearer(hmacToken(publicPem, claims())))).statusCode, 401, 'HS256 with the public key is refused')
})
