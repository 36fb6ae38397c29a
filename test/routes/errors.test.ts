// The error contract: every error is JSON { statusCode, code, error, message },
// client mistakes are 4xx (never 500), and an unreachable dependency is a
// retryable 503 that reveals nothing about the internals.
import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { auth, build, id, setup, token } from '../helper.js'
import { freePort } from '../support/process.js'

const ctx = await setup(t)
const { app } = await build(t, ctx)
const dialogId = id('d')
const linkUrl = (dialog = dialogId) => `/internal/v1/dialogs/${dialog}/attachments/link`

type Assert = Pick<typeof t, 'equal' | 'same' | 'match' | 'notMatch'>

/** The one error shape, exactly these keys, and a status that matches the body. */
function errorShape (t: Assert, res: LightMyRequestResponse, status: number, name = `${status}`): Record<string, unknown> {
  t.equal(res.statusCode, status, `${name}: status`)
  t.match(res.headers['content-type'], /^application\/json/, `${name}: JSON`)
  const body = res.json() as Record<string, unknown>
  t.same(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode'], `${name}: exactly the four keys`)
  t.equal(body.statusCode, status, `${name}: statusCode in the body`)
  t.equal(body.error, STATUS_CODES[status], `${name}: error is the reason phrase of the status`)
  t.match(body, { code: /^[A-Z][A-Z0-9_]+$/, error: String, message: String }, `${name}: field types`)
  t.notMatch(res.body, /\bat .+:\d+:\d+/, `${name}: no stack trace`)
  return body
}

t.test('unknown route: 404 in the error shape', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/no/such/route?token=secret' })
  const body = errorShape(t, res, 404)
  t.equal(body.code, 'ATT_ROUTE_NOT_FOUND')
  t.equal(body.error, 'Not Found')
  t.notMatch(body.message, 'secret', 'the query string is not echoed')
})

t.test('malformed JSON body on link: 400, not 500', async (t) => {
  const bodies = ['{"messageId":', '{messageId: "m"}', 'not json', '']
  for (const payload of bodies) {
    const res = await app.inject({ method: 'POST', url: linkUrl(), headers: { ...auth(), 'content-type': 'application/json' }, payload })
    errorShape(t, res, 400, JSON.stringify(payload))
  }
})

t.test('a body that is not JSON at all: 415 in the error shape', async (t) => {
  const res = await app.inject({ method: 'POST', url: linkUrl(), headers: { ...auth(), 'content-type': 'application/xml' }, payload: '<a/>' })
  errorShape(t, res, 415)
})

t.test('invalid params: 400', async (t) => {
  const cases: Array<[string, string]> = [
    ['dialogId with a dot', '/internal/v1/dialogs/a.b/attachments?messageId=m'],
    ['dialogId of 129 characters', `/internal/v1/dialogs/${'d'.repeat(129)}/attachments?messageId=m`],
    ['attachmentId not a UUID', `/internal/v1/dialogs/${dialogId}/attachments/not-a-uuid`],
    ['attachmentId a UUID with junk', `/internal/v1/dialogs/${dialogId}/attachments/${randomUUID()}x`],
    ['messageId missing', `/internal/v1/dialogs/${dialogId}/attachments`],
    ['messageId with a slash', `/internal/v1/dialogs/${dialogId}/attachments?messageId=a%2Fb`],
    ['malformed percent-encoding in a param', '/internal/v1/dialogs/%E0%A4%A/attachments?messageId=m'],
    // Past the router's maxParamLength (200), before schema validation runs.
    ['dialogId of 201 characters', `/internal/v1/dialogs/${'d'.repeat(201)}/attachments?messageId=m`]
  ]
  for (const [name, url] of cases) {
    const res = await app.inject({ method: 'GET', url, headers: auth() })
    errorShape(t, res, 400, name)
  }
  // Control: the same routes with good params do answer, so the 400s above are about the params.
  const good = await app.inject({ method: 'GET', url: `/internal/v1/dialogs/${'d'.repeat(128)}/attachments?messageId=m`, headers: auth() })
  t.equal(good.statusCode, 200, '128 characters is fine')
  const missing = await app.inject({ method: 'GET', url: `/internal/v1/dialogs/${dialogId}/attachments/${randomUUID()}`, headers: auth() })
  errorShape(t, missing, 404, 'unknown attachment')
})

t.test('wrong body types on link: 400', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['messageId an object', { messageId: { a: 1 }, attachmentIds: [randomUUID()] }],
    ['messageId missing', { attachmentIds: [randomUUID()] }],
    ['attachmentIds an object', { messageId: 'm', attachmentIds: { 0: randomUUID() } }],
    ['attachmentIds empty', { messageId: 'm', attachmentIds: [] }],
    ['attachmentIds not UUIDs', { messageId: 'm', attachmentIds: ['nope'] }],
    ['attachmentIds of 51 ids', { messageId: 'm', attachmentIds: Array.from({ length: 51 }, () => randomUUID()) }],
    ['a JSON array body', [randomUUID()]],
    ['a JSON null body', null],
    ['a JSON string body', 'm']
  ]
  for (const [name, body] of cases) {
    const res = await app.inject({
      method: 'POST',
      url: linkUrl(),
      headers: { ...auth(), 'content-type': 'application/json' },
      payload: JSON.stringify(body)
    })
    const error = errorShape(t, res, 400, name)
    t.equal(error.code, 'ATT_VALIDATION', `${name}: a validation error`)
  }
})

t.test('401 and 403 use the error shape too', async (t) => {
  const url = `/internal/v1/dialogs/${dialogId}/attachments?messageId=m`
  errorShape(t, await app.inject({ method: 'GET', url }), 401, 'no token')
  errorShape(t, await app.inject({ method: 'GET', url, headers: auth('garbage') }), 401, 'bad token')
  errorShape(t, await app.inject({ method: 'GET', url, headers: auth(token({ scope: 'attachments:read' })) }), 403, 'no scope')
})

t.test('a request while Postgres is unreachable (forced failure, closed port): 503 with Retry-After, no internals', async (t) => {
  const port = await freePort()
  const { app, logs } = await build(t, ctx, { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/nothing` })
  const res = await app.inject({ method: 'GET', url: `/internal/v1/dialogs/${dialogId}/attachments?messageId=m`, headers: auth() })
  const body = errorShape(t, res, 503)
  t.equal(body.error, 'Service Unavailable')
  t.match(res.headers['retry-after'], /^\d+$/, 'Retry-After in seconds (RFC 9110 §10.2.3)')
  for (const detail of [String(port), '127.0.0.1', 'ECONNREFUSED', 'postgres://', 'chat_attachment', 'select']) {
    t.notOk(res.body.toLowerCase().includes(detail.toLowerCase()), `the body does not reveal "${detail}"`)
  }
  // The detail is not lost: it goes to the log, for operators.
  t.match(logs.join(''), 'ECONNREFUSED', 'the cause is logged')
})
