// Token lifetimes cannot be stretched: a link token must be issued now (not
// in the future) and live briefly from then; every browser token expires at
// most TOKEN_MAX_TTL_SECONDS ahead; claims that are not finite numbers are
// refused. Each refusal is logged with its reason, never with the token.
import { createHmac } from 'node:crypto'
import t from 'tap'
import { build, id, JWT_SECRET, serviceToken, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'

const ctx = await setup(t)
const { app, logs } = await build(t, ctx)
const dialogId = id('d')
const ownerId = id('o')
const file = await attach(app, dialogId, 'hello', { ownerId })
const url = `/v1/attachments/${dialogId}/${file.id}`
const now = () => Math.floor(Date.now() / 1000)
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Signs a payload given as raw JSON text, so it can hold what JSON.stringify cannot write (1e400). */
function rawToken (payloadJson: string): string {
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${Buffer.from(payloadJson).toString('base64url')}`
  return `${input}.${createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`
}

function reasonLogged (jwt: string): string | undefined {
  const line = logs.map((text) => JSON.parse(text) as { reason?: string, msg: string }).reverse().find((entry) => entry.msg === 'request rejected')
  t.notOk(logs.join('').includes(jwt.split('.')[2]!), 'the token is in no log line')
  return line?.reason
}

t.test('link tokens: issued now, short-lived from their issue', async (t) => {
  const refused: Array<[string, Record<string, unknown>, string]> = [
    ['iat a day ahead with a 400 s life (a 24-hour link)', { dlg: dialogId, iat: now() + 86_000, exp: now() + 86_400 }, 'issued_in_future'],
    ['iat = exp = now + 1e9', { dlg: dialogId, iat: now() + 1e9, exp: now() + 1e9 }, 'too_long_lived'],
    ['iat 2 minutes ahead (past the 60 s skew)', { dlg: dialogId, iat: now() + 120, exp: now() + 300 }, 'issued_in_future'],
    ['a 601 s life', { dlg: dialogId, iat: now(), exp: now() + 601 }, 'too_long_lived']
  ]
  for (const [name, claims, reason] of refused) {
    const jwt = token(claims)
    const res = await app.inject({ url: `${url}?token=${jwt}` })
    t.equal(res.statusCode, 401, name)
    t.equal(reasonLogged(jwt), reason, `${name}: logged as ${reason}`)
  }
  const skewed = token({ dlg: dialogId, iat: now() + 30, exp: now() + 300 })
  t.equal((await app.inject({ url: `${url}?token=${skewed}` })).statusCode, 200, 'iat within the clock skew is fine')
})

t.test('header and cookie tokens: exp at most TOKEN_MAX_TTL_SECONDS ahead', async (t) => {
  const day = token({ sub: ownerId, exp: now() + 86_400 })
  t.equal((await app.inject({ url, headers: { authorization: `Bearer ${day}` } })).statusCode, 200, 'a 24-hour token')
  const longer = token({ sub: ownerId, exp: now() + 86_400 + 3_600 })
  t.equal((await app.inject({ url, headers: { authorization: `Bearer ${longer}` } })).statusCode, 401, '25 hours: refused')
  t.equal(reasonLogged(longer), 'too_long_lived')
  const cookie = token({ sub: ownerId, exp: now() + 7 * 86_400 })
  t.equal((await app.inject({ url, headers: { cookie: `chat_token=${cookie}` } })).statusCode, 401, 'a week-long cookie token: refused')
})

t.test('claims that are not finite numbers are refused', async (t) => {
  const cases: Array<[string, string]> = [
    ['exp 1e400 (Infinity)', `{"sub":"${ownerId}","exp":1e400}`],
    ['iat 1e400', `{"sub":"${ownerId}","iat":1e400,"exp":${now() + 60}}`],
    ['exp as a string', `{"sub":"${ownerId}","exp":"${now() + 60}"}`],
    ['link token with exp 1e400', `{"dlg":"${dialogId}","iat":${now()},"exp":1e400}`]
  ]
  for (const [name, json] of cases) {
    const jwt = rawToken(json)
    const viaHeader = await app.inject({ url, headers: { authorization: `Bearer ${jwt}` } })
    t.equal(viaHeader.statusCode, 401, `${name}: header`)
    t.equal((await app.inject({ url: `${url}?token=${jwt}` })).statusCode, 401, `${name}: query`)
  }
  const service = rawToken('{"sub":"chat-app","scope":"attachments:write","exp":1e400}')
  const internal = await app.inject({ url: `/internal/v1/dialogs/${dialogId}/attachments?messageId=m`, headers: { authorization: `Bearer ${service}` } })
  t.equal(internal.statusCode, 401, 'a service token with exp 1e400 is refused too')
  t.equal(reasonLogged(service), 'non_finite_claim')
  const ok = await app.inject({ url: `/internal/v1/dialogs/${dialogId}/attachments?messageId=m`, headers: { authorization: `Bearer ${serviceToken()}` } })
  t.equal(ok.statusCode, 200, 'an ordinary service token passes')
})

t.test('refusals are logged with their reason', async (t) => {
  const expired = token({ sub: ownerId, iat: now() - 600, exp: now() - 60 })
  await app.inject({ url, headers: { authorization: `Bearer ${expired}` } })
  t.equal(reasonLogged(expired), 'expired')
  const forged = `${token({ sub: ownerId }).slice(0, -4)}AAAA`
  await app.inject({ url, headers: { authorization: `Bearer ${forged}` } })
  t.equal(reasonLogged(forged), 'signature')
  const notLink = token({ sub: ownerId, iat: now(), exp: now() + 60 })
  await app.inject({ url: `${url}?token=${notLink}` })
  t.equal(reasonLogged(notLink), 'not_a_link_token')
  const res = await app.inject({ url, headers: { authorization: `Bearer ${expired}` } })
  t.equal(res.json().message, 'The token is invalid or expired', 'the client is told nothing more')
})

t.test('a token accepted (and kept as verified) is refused once it expires', async (t) => {
  const exp = now() + 2
  const jwt = token({ sub: ownerId, exp })
  const headers = { authorization: `Bearer ${jwt}` }
  for (let i = 0; i < 2; i++) t.equal((await app.inject({ url, headers })).statusCode, 200, 'accepted, then answered from the verified tokens')
  // Wall-clock time, not machine speed: wait until exp is in the past.
  while (Date.now() <= exp * 1000) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal((await app.inject({ url, headers })).statusCode, 401)
  t.equal(reasonLogged(jwt), 'expired')
})
