// SIGTERM to the real server, a child process running the compiled code as
// the image does: readiness answers 503 at once, a 64 MiB download to a
// client that has stopped reading still completes after the listener has
// closed, new connections are refused, and the process exits 0 by itself
// once the pools are closed. Every step waits for the server to say it has
// reached it (its log), never for a time.
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { auth, id, setup, token } from '../helper.js'
import { randomChunks, send } from '../support/http.js'
import { freePort, startEntrypoint } from '../support/process.js'
import { waitUntil } from '../support/wait.js'

t.setTimeout(300_000)
const ctx = await setup(t)
const SIZE = 64 * 1024 * 1024
const port = await freePort()
const base = `http://127.0.0.1:${port}`

const server = startEntrypoint('src/server.ts', [], {
  ...ctx.env,
  PORT: String(port),
  HOST: '127.0.0.1',
  ATTACHMENT_MAX_BYTES: String(SIZE + 1024),
  SHUTDOWN_DRAIN_MS: '4000',
  // Long enough for a loaded machine: the grace period is not what is tested here.
  SHUTDOWN_GRACE_MS: '120000',
  DOWNLOAD_STALL_MS: '120000',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'
}, { timeoutMs: 280_000 })
t.teardown(() => { server.child.kill('SIGKILL') })
let output = ''
server.child.stdout!.on('data', (chunk: Buffer) => { output += chunk })
const logged = (message: string) => waitUntil(() => output.includes(`"msg":"${message}`), `the server logs "${message}"`, 120_000)

await logged('Server listening')
const dialogId = id('dlg')
const ownerId = id('owner')

async function * uploadBody (boundary: string): AsyncGenerator<Buffer> {
  yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="ownerId"\r\n\r\n${ownerId}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`)
  yield * randomChunks(SIZE)
  yield Buffer.from(`\r\n--${boundary}--\r\n`)
}

/** A GET whose client reads the headers and then stops reading. */
async function stalledDownload (path: string): Promise<{ socket: Socket, received: () => Buffer[], readOn: () => void }> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  const chunks: Buffer[] = []
  let reading = false
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk)
    // Stop reading after the first bytes: the server's writes back up.
    if (!reading) socket.pause()
  })
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token({ sub: ownerId })}\r\n\r\n`)
  await waitUntil(() => chunks.length > 0, 'the download has started')
  return { socket, received: () => chunks, readOn: () => { reading = true; socket.resume() } }
}

t.test('SIGTERM: 503 readiness at once, the download in flight completes, new connections refused, exit 0', async (t) => {
  const boundary = `----shutdown${randomBytes(6).toString('hex')}`
  const uploaded = await send(`${base}/internal/v1/dialogs/${dialogId}/attachments`, {
    method: 'POST',
    headers: { ...auth(), 'content-type': `multipart/form-data; boundary=${boundary}` },
    body: uploadBody(boundary)
  })
  t.equal(uploaded.status, 201, 'a 64 MiB file stored')
  const file = JSON.parse(String(uploaded.body)) as { id: string, sha256: string }
  await send(`${base}/internal/v1/dialogs/${dialogId}/attachments/link`, {
    method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ messageId: 'm-1', attachmentIds: [file.id] }))
  })
  t.equal((await send(`${base}/health/ready`)).status, 200, 'ready before the signal')

  const download = await stalledDownload(`/v1/attachments/${dialogId}/${file.id}`)
  server.child.kill('SIGTERM')
  await logged('shutting down: readiness now answers 503')
  const ready = await send(`${base}/health/ready`)
  t.equal(ready.status, 503, 'readiness answers 503 at once')
  t.match(JSON.parse(String(ready.body)), { status: 'unavailable' })

  await logged('shutting down: listener closed')
  await waitUntil(() => send(`${base}/health/live`).then(() => false, (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED'), 'new connections are refused')
  t.pass('new connections are refused once the listener is closed')
  t.notOk(output.includes('"msg":"shut down'), 'still waiting for the download in flight')

  // The client reads again, to the end.
  const ended = once(download.socket, 'end')
  download.readOn()
  await ended
  const response = Buffer.concat(download.received())
  const headerEnd = response.indexOf('\r\n\r\n')
  t.match(response.subarray(0, headerEnd).toString('latin1'), /^HTTP\/1\.1 200 OK\r\n[\s\S]*connection: (keep-alive|close)/i)
  const body = response.subarray(headerEnd + 4)
  t.equal(body.length, SIZE, 'all 64 MiB arrived')
  t.equal(createHash('sha256').update(body).digest('hex'), file.sha256, 'the very bytes stored')

  const result = await server.done
  t.equal(result.signal, null, 'exited by itself')
  t.equal(result.code, 0, 'exit code 0')
  t.match(output, /"msg":"shut down: requests finished, pools closed"/)
  const [row] = await ctx.sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'chat-attachments'`
  t.equal(row!.n, 0, 'no connection of the service left in Postgres')
})
