// Answers the README documents, where the framework used to answer its own
// way: a repeated ?token= is 401 (not 400); a body that is not
// multipart/form-data on upload is 415 ATT_NOT_MULTIPART whatever it is;
// malformed browser paths get the one common 404, rate-limited like any other.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { auth, build, id, listen, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'
import { send } from '../support/http.js'

const ctx = await setup(t)
const MAX = 8
const { app } = await build(t, ctx, { RATE_LIMIT_MAX: String(MAX) })
// The limiter's Redis must be connected before counting is asserted.
while (app.redis.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 20))
const base = await listen(app)
const dialogId = id('d')
const ownerId = id('o')
const file = await attach(app, dialogId, 'hello', { ownerId })
const viewer = { authorization: `Bearer ${token({ sub: ownerId })}` }

t.test('a repeated ?token= is 401, like any token that is not acceptable', async (t) => {
  const link = token({ dlg: dialogId })
  const res = await app.inject({ url: `/v1/attachments/${dialogId}/${file.id}?token=${link}&token=${link}`, remoteAddress: '10.0.0.1' })
  t.equal(res.statusCode, 401)
  t.match(res.headers['www-authenticate'], /error="invalid_token"/)
  const download = await app.inject({ url: `/v1/attachments/${dialogId}/${file.id}?download=1&download=2`, headers: viewer, remoteAddress: '10.0.0.2' })
  t.equal(download.statusCode, 200, 'a repeated ?download= is simply not "1"')
})

t.test('anything but multipart/form-data on upload is 415 ATT_NOT_MULTIPART', async (t) => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['multipart/mixed', { 'content-type': 'multipart/mixed; boundary=x' }, '--x\r\n\r\nhello\r\n--x--\r\n'],
    ['no Content-Type', {}, 'hello'],
    ['application/json', { 'content-type': 'application/json' }, '{"file":"hello"}'],
    ['text/plain', { 'content-type': 'text/plain' }, 'hello']
  ]
  for (const [name, headers, body] of cases) {
    const res = await send(`${base}/internal/v1/dialogs/${dialogId}/attachments?ownerId=o`, {
      method: 'POST', headers: { ...auth(), ...headers, 'content-length': String(body.length) }, body: Buffer.from(body)
    })
    t.equal(res.status, 415, name)
    t.match(JSON.parse(res.body.toString()), { statusCode: 415, code: 'ATT_NOT_MULTIPART' }, name)
  }
})

t.test('malformed browser paths: the common 404 to the byte (but for Date and the counters), and counted', async (t) => {
  const headers = { ...viewer, 'x-forwarded-for': '1.1.1.1' }
  const common = await send(`${base}/v1/attachments/${dialogId}/${randomUUID()}`, { headers })
  const malformed = [
    `/v1/attachments/%E0%A4%A/${file.id}`,
    `/v1/attachments/${dialogId}/%zz`,
    `/v1/attachments/${'d'.repeat(300)}/${file.id}`,
    `/v1/attachments/${dialogId}/${file.id}${'%41'.repeat(100)}`,
    '/v1/no/such/route'
  ]
  const comparable = (headers: Record<string, unknown>) => {
    const { date: _date, 'x-ratelimit-remaining': _remaining, 'x-ratelimit-reset': _reset, ...rest } = headers
    return rest
  }
  const remaining: number[] = [Number(common.headers['x-ratelimit-remaining'])]
  for (const path of malformed) {
    const res = await send(`${base}${path}`, { headers })
    t.equal(res.status, 404, path.slice(0, 40))
    t.same(res.body, common.body, 'the same body')
    t.same(comparable(res.headers), comparable(common.headers), 'the same headers, rate-limit headers included')
    remaining.push(Number(res.headers['x-ratelimit-remaining']))
  }
  t.same(remaining, [MAX - 1, MAX - 2, MAX - 3, MAX - 4, MAX - 5, MAX - 6], 'each one is counted by the rate limit')
})
