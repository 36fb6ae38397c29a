// No token reaches a log line, in any spelling or encoding of the parameter
// that carries it: the URL is judged by what the query parser will make of
// it. Unit cases, a fuzz of the parameter name, and the real app's log lines.
import { randomInt } from 'node:crypto'
import t from 'tap'
import { redactUrl, scrub } from '../src/logger.js'
import { auth, build, id, setup, token } from './helper.js'
import { attach } from './support/attachments.js'

const jwt = token({ dlg: 'd-1', jti: 'log-leak-probe' })
const [, payload, signature] = jwt.split('.') as [string, string, string]

/** True when no part of the token that could replay or identify it is in text. */
const clean = (text: string) => !text.includes(signature) && !text.includes(payload)

const percent = (char: string) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`

t.test('the spellings an attacker tried', async (t) => {
  const spellings = [
    `token=${jwt}`, `%74oken=${jwt}`, `to%6Ben=${jwt}`, `token%3D${jwt}`, `token[]=${jwt}`, `TOKEN=${jwt}`,
    `%2574oken=${jwt}`, `access_token=${jwt}`, `x=${jwt}`, `x=${encodeURIComponent(jwt).replace(/e/g, '%65')}`,
    `${jwt}`, `token=${jwt.replaceAll('.', '%2E')}`, `t%00oken=${jwt}`, `token%5B%5D=${jwt}`, `+token=${jwt}`
  ]
  for (const query of spellings) {
    const logged = redactUrl(`/internal/v1/dialogs/d/attachments?messageId=m&${query}`)
    t.ok(clean(logged), `${query.slice(0, 24)}...: redacted (${logged.slice(0, 90)})`)
    t.match(logged, /^\/internal\/v1\/dialogs\/d\/attachments\?messageId=m&/, 'the rest of the URL is kept')
  }
})

t.test('a fuzz of the parameter name: any case, any percent-encoding, any suffix', async (t) => {
  for (let round = 0; round < 2_000; round++) {
    let name = ''
    for (const char of 'token') {
      const upper = randomInt(2) === 1 ? char.toUpperCase() : char
      const encoded = randomInt(3) === 0 ? percent(upper) : upper
      name += randomInt(6) === 0 ? encoded.replace('%', '%25') : encoded
    }
    name = ['', '[]', '%5B%5D', '%3D', '[0]', '%00', ' '][randomInt(7)]! + name + ['', '[]', '%5B%5D', '[a]'][randomInt(4)]!
    const value = [jwt, encodeURIComponent(jwt), jwt.replaceAll('.', '%2E')][randomInt(3)]!
    const url = `/internal/v1/x?a=1&${name}=${value}&b=2`
    const logged = redactUrl(url)
    if (!clean(logged)) t.fail(`leaked: ${url}`)
  }
  t.pass('2,000 spellings, none leaked')
})

t.test('browser URLs are logged without their query string; JWT-shaped path parts are removed', async (t) => {
  t.equal(redactUrl(`/v1/attachments/d/a?token=${jwt}&download=1`), '/v1/attachments/d/a')
  t.equal(redactUrl(`/v1/attachments/d/a?%74oken=${jwt}`), '/v1/attachments/d/a')
  t.ok(clean(redactUrl(`/v1/attachments/${jwt}/a`)), 'a token pasted into the path')
  t.ok(clean(scrub(encodeURIComponent(jwt))), 'a percent-encoded token in a host or path')
  t.equal(redactUrl('/internal/v1/dialogs/d/attachments?messageId=m-1'), '/internal/v1/dialogs/d/attachments?messageId=m-1', 'ordinary queries are kept')
  t.equal(redactUrl('/internal/v1/x?bad=%E0%A4%A'), '/internal/v1/x?bad=%E0%A4%A', 'malformed escapes do not throw')
})

t.test('the real app writes no token to any log line, whatever the spelling', async (t) => {
  const ctx = await setup(t)
  const { app, logs } = await build(t, ctx)
  const dialogId = id('d')
  const file = await attach(app, dialogId, 'hello', { ownerId: 'o' })
  const link = token({ dlg: dialogId, jti: 'app-probe' })
  const [, linkPayload, linkSignature] = link.split('.') as [string, string, string]
  const spellings = [`token=${link}`, `%74oken=${link}`, `to%6Ben=${link}`, `token%3D${link}`, `token[]=${link}`, `token=${link}&token=${link}`]
  for (const query of spellings) {
    await app.inject({ url: `/v1/attachments/${dialogId}/${file.id}?${query}` })
    await app.inject({ url: `/internal/v1/dialogs/${dialogId}/attachments?messageId=m&${query}`, headers: auth() })
    await app.inject({ url: `/no/such/route?${query}` })
    await app.inject({ method: 'POST', url: `/v1/attachments/${dialogId}/${file.id}?${query}`, headers: { 'content-type': 'application/json' }, payload: '{}' })
    await app.inject({ url: `/v1/attachments/%E0%A4%A/${file.id}?${query}` })
  }
  const text = logs.join('')
  t.ok(text.includes('incoming request'), 'the requests were logged')
  t.notOk(text.includes(linkSignature), 'no token signature in the logs')
  t.notOk(text.includes(linkPayload), 'no token payload in the logs')
})
