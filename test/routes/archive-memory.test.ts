// The service as its own process (compiled src/server.ts) streams a 256 MiB
// export while its RSS is sampled: it must stay within 150 MiB of the idle
// RSS. A server that buffered the archive, or opened every S3 object at
// once, would grow by about the export's size. A memory bound, not a timing
// assertion. The 1 GiB figure comes from `npm run bench:export`.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { sampledDownload } from '../../bench/lib/sampled-download.js'
import { serviceToken, setup } from '../helper.js'
import { putObject } from '../support/bucket.js'
import { freePort, startEntrypoint } from '../support/process.js'
import { waitUntil } from '../support/wait.js'

t.setTimeout(360_000)

const MiB = 1024 * 1024
const FILES = 8
const OBJECT_BYTES = 32 * MiB
const BOUND = 150 * MiB

const ctx = await setup(t)
const ownerId = 'memory-owner'
const content = randomBytes(OBJECT_BYTES)
const sha256 = createHash('sha256').update(content).digest('hex')
for (let i = 0; i < FILES; i++) {
  const id = randomUUID()
  const dialogId = `memory-dialog-${i % 3}`
  const key = `attachments/${dialogId}/${id}`
  await putObject(ctx.s3, key, content)
  await ctx.sql`INSERT INTO chat_attachment (id, dialog_id, owner_id, uploaded_by, status, message_id, storage_key, file_name, content_type, size_bytes, sha256, etag, linked_at)
    VALUES (${id}, ${dialogId}, ${ownerId}, ${ownerId}, 'LINKED', ${`m-${i}`}, ${key}, ${`file-${i}.bin`}, 'application/octet-stream', ${OBJECT_BYTES}, ${sha256}, ${`"${sha256.slice(0, 32)}"`}, now())`
}

const port = await freePort()
const server = startEntrypoint('src/server.ts', [], { ...ctx.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }, { timeoutMs: 300_000 })
t.teardown(async () => {
  server.child.kill('SIGTERM')
  await server.done
})
const base = `http://127.0.0.1:${port}`
await waitUntil(async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200, 'the server is ready')
const pid = server.child.pid!

async function rss (): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024
}

const exportOf = (owner: string) =>
  sampledDownload(`${base}/internal/v1/owners/${owner}/export`, { authorization: `Bearer ${serviceToken()}` }, rss, 50)

t.test(`a ${FILES * OBJECT_BYTES / MiB} MiB export keeps the server within ${BOUND / MiB} MiB of its idle RSS`, async (t) => {
  // The archive code loaded once, then the idle figure.
  t.equal((await exportOf('nobody')).status, 200)
  const idle = await rss()
  const result = await exportOf(ownerId)
  t.equal(result.status, 200)
  t.ok(result.bytes > FILES * OBJECT_BYTES, `the whole export arrived (${result.bytes} bytes)`)
  const growth = result.peakRss - idle
  t.ok(growth <= BOUND, `peak RSS ${(result.peakRss / MiB).toFixed(1)} MiB, idle ${(idle / MiB).toFixed(1)} MiB: +${(growth / MiB).toFixed(1)} MiB`)
})
