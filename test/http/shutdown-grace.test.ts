// The shutdown's bound: a download whose client never reads again is cut
// when SHUTDOWN_GRACE_MS has passed since the signal, and the app still
// closes; nothing waits for that client. In process, on a real socket.
import { once } from 'node:events'
import { connect } from 'node:net'
import t from 'tap'
import { build, id, listen, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'
import { waitUntil } from '../support/wait.js'

t.setTimeout(180_000)
const ctx = await setup(t)
const SIZE = 32 * 1024 * 1024
const { app, logs } = await build(t, ctx, {
  ATTACHMENT_MAX_BYTES: String(SIZE),
  SHUTDOWN_DRAIN_MS: '0',
  SHUTDOWN_GRACE_MS: '1000',
  DOWNLOAD_STALL_MS: '600000'
})
const base = await listen(app)
const dialogId = id('dlg')
const ownerId = id('owner')
const file = await attach(app, dialogId, Buffer.alloc(SIZE, 7), { ownerId })

t.test('a client that never reads is cut at the end of the grace period; the app closes', async (t) => {
  const socket = connect(Number(new URL(base).port), '127.0.0.1')
  await once(socket, 'connect')
  let received = 0
  let reading = false
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length
    if (!reading) socket.pause()
  })
  socket.on('error', () => {})
  const closed = once(socket, 'close')
  socket.write(`GET /v1/attachments/${dialogId}/${file.id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token({ sub: ownerId })}\r\n\r\n`)
  await waitUntil(() => received > 0, 'the download has started')

  await app.shutdown()
  t.ok(logs.some((line) => line.includes('shutdown grace period over: cutting the connections still open')), 'the cut is logged')
  // Reading again, the client finds its connection closed mid-body.
  reading = true
  socket.resume()
  await closed
  t.ok(received < SIZE, `the stalled client got only part of the file (${received} bytes)`)
  t.notOk(app.server.listening, 'the listener is closed')
})
