// A client that hangs up in the middle of its request body is logged once,
// at info, as what it is: never as a database outage, never with a stack.
import { connect } from 'node:net'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { build, id, listen, serviceToken, setup } from '../helper.js'

const ctx = await setup(t)
const { app, logs } = await build(t, ctx)
const base = new URL(await listen(app))

async function hangUpMidBody (path: string, headers: string): Promise<void> {
  const socket = connect(Number(base.port), '127.0.0.1')
  await once(socket, 'connect')
  socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\n${headers}Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"messageId":`)
  // Let the service start reading the body before the client goes.
  await sleep(50)
  socket.destroy()
  await once(socket, 'close')
}

async function until (condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(20)
}

t.test('200 clients hanging up mid-body: one info line each, no error, no "database"', async (t) => {
  const before = logs.length
  const dialogId = id('d')
  for (let i = 0; i < 100; i++) {
    await hangUpMidBody(`/internal/v1/dialogs/${dialogId}/attachments/link`, `Authorization: Bearer ${serviceToken()}\r\n`)
    await hangUpMidBody(`/v1/attachments/${dialogId}/x`, '')
  }
  const abortLine = '"msg":"client closed the connection before the answer"'
  await until(() => logs.slice(before).filter((line) => line.includes(abortLine)).length >= 200)
  const lines = logs.slice(before).map((line) => JSON.parse(line) as { level: number, msg: string, err?: unknown })
  t.equal(lines.filter((line) => line.level >= 50).length, 0, 'nothing at error level')
  t.equal(lines.filter((line) => line.msg === 'client closed the connection before the answer').length, 200, 'one line per hang-up')
  t.notMatch(logs.slice(before).join(''), /database|"stack"/i, 'not reported as a database failure, no stack trace')
})

t.test('a real Postgres outage is still a 503 naming nothing internal (forced: closed port)', async (t) => {
  const { freePort } = await import('../support/process.js')
  const broken = await build(t, ctx, { DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/x` })
  const res = await broken.app.inject({
    method: 'POST',
    url: `/internal/v1/dialogs/${id('d')}/attachments/link`,
    headers: { authorization: `Bearer ${serviceToken()}` },
    payload: { messageId: 'm', attachmentIds: ['6f1c4d2e-8a4b-4c1d-9e2f-0a1b2c3d4e5f'] }
  })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '5')
  t.match(res.json(), { code: 'ATT_UNAVAILABLE' })
})
