// Every connection is bounded in time, before any token is looked at: a
// client that stalls in its headers or its body is cut, and thousands of
// them are shed while downloads go on. Real sockets against the real app.
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import t from 'tap'
import { build, id, listen, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'
import { send } from '../support/http.js'

t.setTimeout(240_000)
const ctx = await setup(t)
const TIMEOUT_MS = 400
const { app, logs } = await build(t, ctx, {
  HTTP_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
  HTTP_HEADERS_TIMEOUT_MS: String(TIMEOUT_MS),
  // Thousands of sockets from one address: the limit is not what is tested here.
  RATE_LIMIT_MAX: '100000'
})
const base = await listen(app)
const { port } = new URL(base)
const dialogId = id('dlg')
const ownerId = id('owner')
const content = Buffer.from('a small attachment, 69 bytes long, to prove downloads keep working...')
const file = await attach(app, dialogId, content, { ownerId })
const viewer = { authorization: `Bearer ${token({ sub: ownerId })}` }

interface Stalled {
  socket: Socket
  /** Everything the server wrote, and whether it closed the connection. */
  closed: Promise<string>
}

/** Opens a connection, writes `head` and then nothing more. */
async function stall (head: string): Promise<Stalled> {
  const socket = connect(Number(port), '127.0.0.1')
  await once(socket, 'connect')
  let received = ''
  socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
  socket.on('error', () => {})
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)))
  socket.write(head)
  return { socket, closed }
}

const stalledBody = (path: string, method = 'POST') =>
  `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"ten":"1"`

t.test('a body that stops arriving is cut, on every route, with or without a token', async (t) => {
  const paths: Array<[string, string]> = [
    ['POST', `/v1/attachments/${dialogId}/${file.id}`],
    ['GET', '/health/live'],
    ['GET', '/'],
    ['GET', '/internal/v1/openapi.json'],
    ['POST', `/internal/v1/dialogs/${dialogId}/attachments/link`]
  ]
  for (const [method, path] of paths) {
    const { closed } = await stall(stalledBody(path, method))
    // Some routes answer before reading the body (a 401, a health check);
    // either way the connection is closed once the body is late, and a
    // request that got no answer yet gets a 408.
    const received = await closed
    t.match(received, /^HTTP\/1\.1 (408 Request Timeout|200 OK|401 Unauthorized|404 Not Found)\r\n/, `${method} ${path}: closed by the server`)
    if (method === 'POST' && path.startsWith('/v1/')) t.match(received, /^HTTP\/1\.1 408 /, 'a request still waiting for its body gets 408')
  }
})

t.test('headers that stop arriving are cut; so is a connection that sends nothing', async (t) => {
  const partial = await stall(`GET /v1/attachments/${dialogId}/${file.id} HTTP/1.1\r\nHost: x\r\nX-Slow: `)
  t.match(await partial.closed, /^(HTTP\/1\.1 408|)/, 'closed by the server')
  const silent = await stall('')
  t.match(await silent.closed, /^(HTTP\/1\.1 408 Request Timeout\r\n|)/, 'an idle new connection is closed too')
})

t.test('2,000 stalled connections are shed while downloads succeed, with no error lines', async (t) => {
  const before = logs.length
  const stalled: Stalled[] = []
  // Opened in batches so the listen backlog is not what decides.
  for (let i = 0; i < 2_000; i += 200) {
    stalled.push(...await Promise.all(Array.from({ length: 200 }, () => stall(stalledBody(`/v1/attachments/a/b${i}`)))))
  }
  // Downloads while the stalled connections are open and being cut.
  const downloads: number[] = []
  for (let i = 0; i < 20; i++) {
    const res = await send(`${base}/v1/attachments/${dialogId}/${file.id}`, { headers: viewer })
    downloads.push(res.status)
    t.same(res.body, content)
  }
  t.same(downloads, Array(20).fill(200), 'every download succeeded')
  const answers = await Promise.all(stalled.map(({ closed }) => closed))
  // Every one was closed by the server (each promise settles on 'close').
  // Most get a 408; on a busy machine Node's headers deadline may cut one
  // whose head was still unparsed, and that one is closed without an answer.
  // No other status ever.
  t.equal(answers.length, 2_000, 'all 2,000 were closed by the server')
  t.same(answers.filter((text) => !(text === '' || text.startsWith('HTTP/1.1 408 '))), [], 'each with a 408 or with nothing, never another answer')
  t.ok(answers.some((text) => text.startsWith('HTTP/1.1 408 ')), 'the body deadline answered 408')
  t.equal(app.bodyDeadline.size, 0, 'nothing is watched any more')

  const lines = logs.slice(before).map((line) => JSON.parse(line) as { level: number, msg: string })
  t.equal(lines.filter((line) => line.level >= 50).length, 0, 'no line at error level')
  const cuts = lines.filter((line) => line.msg === 'request body too slow: connection closed')
  // Node's own headers deadline may cut a connection whose headers came late
  // on a busy machine; it logs nothing. Never more than one line each.
  t.ok(cuts.length > 0 && cuts.length <= 2_000, `at most one info line per cut connection (${cuts.length})`)
  const health = await send(`${base}/health/ready`)
  t.equal(health.status, 200, 'ready afterwards')
})

t.test('a body that arrives in time is not cut', async (t) => {
  const body = JSON.stringify({ messageId: id('m'), attachmentIds: [file.id] })
  const res = await send(`${base}/internal/v1/dialogs/${dialogId}/attachments/link`, {
    method: 'POST',
    headers: { authorization: viewer.authorization.replace(/.*/, `Bearer ${token({ sub: 'chat-app', scope: 'attachments:write' })}`), 'content-type': 'application/json', 'content-length': String(body.length) },
    body: Buffer.from(body)
  })
  t.equal(res.status, 409, 'answered by the route (already linked to another message), not cut')
})
