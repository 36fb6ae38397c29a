// One viewer cannot take every S3 connection: streams per viewer and per
// instance are bounded, and a client that stops reading is cut, which gives
// its S3 socket back. Real sockets, the real S3-protocol server.
import { randomBytes } from 'node:crypto'
import { request as httpRequest, type ClientRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { build, id, listen, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'
import { send } from '../support/http.js'

t.setTimeout(180_000)
const ctx = await setup(t)
const PER_USER = 16
// Larger than what the kernel buffers on a loopback connection (a few MB
// each way), so a client that never reads can never complete a download.
const BIG = 24 * 1024 * 1024
// Long enough that no stream is cut while the test counts them; the cut
// itself is proven below with an instance of its own.
const { app } = await build(t, ctx, {
  DOWNLOAD_MAX_CONCURRENT_PER_USER: String(PER_USER),
  DOWNLOAD_STALL_MS: '600000',
  RATE_LIMIT_MAX: '100000'
})
const base = await listen(app)
const dialogId = id('dlg')
const hoarder = id('hoarder')
const big = await attach(app, dialogId, randomBytes(BIG), { ownerId: hoarder })
const other = id('other')
const small = await attach(app, id('dlg'), Buffer.alloc(69, 'x'), { ownerId: other })
const bearer = (sub: string) => ({ authorization: `Bearer ${token({ sub })}` })

interface Hoard { request: ClientRequest, status: Promise<number>, closed: Promise<void> }

/** A download whose client reads the status line and then never reads again. */
function hoard (url = base): Hoard {
  const request = httpRequest(`${url}/v1/attachments/${dialogId}/${big.id}`, { headers: bearer(hoarder), agent: false })
  const status = new Promise<number>((resolve, reject) => {
    request.once('response', (res) => {
      res.pause()
      resolve(res.statusCode ?? 0)
    })
    request.once('error', reject)
  })
  const closed = new Promise<void>((resolve) => request.once('close', resolve))
  request.on('error', () => {})
  request.end()
  return { request, status, closed }
}

/** Waits, without a time limit of its own, until a condition holds. */
async function until (condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(20)
}

t.test('200 downloads that never read: the viewer holds 16, another user and readiness are unaffected', async (t) => {
  const baseline = app.storage.socketStats().active
  const hoards = Array.from({ length: 200 }, () => hoard())
  const statuses = await Promise.all(hoards.map((h) => h.status))
  t.equal(statuses.filter((s) => s === 200).length, PER_USER, `${PER_USER} streams for the viewer`)
  t.equal(statuses.filter((s) => s === 429).length, 200 - PER_USER, 'every other one is 429')
  t.ok(app.storage.socketStats().active <= baseline + PER_USER, 'S3 sockets held: at most one per stream')
  t.equal(app.storage.socketStats().queued, 0, 'no S3 request waits for a socket')

  // By construction, not by timing: while the hoard holds its streams, the
  // pool has free sockets, so another user's download needs no waiting.
  const res = await send(`${base}/v1/attachments/${small.dialogId}/${small.id}`, { headers: bearer(other) })
  t.equal(res.status, 200, 'another user downloads')
  t.same(res.body, Buffer.alloc(69, 'x'))
  t.equal((await send(`${base}/health/ready`)).status, 200, 'readiness stays healthy')
  t.equal(app.slots.downloads.inFlight, PER_USER, 'the hoard is still being held')

  // The hoarder hangs up: every stream ends and its S3 socket is released.
  for (const h of hoards) h.request.destroy()
  await Promise.all(hoards.map((h) => h.closed))
  await until(() => app.slots.downloads.inFlight === 0 && app.storage.socketStats().active <= baseline)
  t.pass('no stream left, every S3 socket of the hoard released')
  const again = await send(`${base}/v1/attachments/${dialogId}/${big.id}`, { headers: bearer(hoarder) })
  t.equal(again.status, 200, 'the viewer can download again')
  t.equal(again.body.length, BIG)
})

t.test('a client that reads nothing for DOWNLOAD_STALL_MS is cut and its S3 socket released', async (t) => {
  const { app: stalling } = await build(t, ctx, { DOWNLOAD_STALL_MS: '500', RATE_LIMIT_MAX: '100000' })
  const url = await listen(stalling)
  const baseline = stalling.storage.socketStats().active
  const hoards = Array.from({ length: 3 }, () => hoard(url))
  t.same(await Promise.all(hoards.map((h) => h.status)), [200, 200, 200])
  // Nobody reads and nobody hangs up: the service itself ends them. (The
  // clients, paused, would only see the end after reading what is buffered.)
  await until(() => stalling.slots.downloads.inFlight === 0 && stalling.storage.socketStats().active <= baseline)
  t.pass('all three cut by the service, their S3 sockets released')
  for (const h of hoards) h.request.destroy()
})

t.test('the instance as a whole is bounded: 503 with Retry-After past DOWNLOAD_MAX_CONCURRENT', async (t) => {
  const { app: small3 } = await build(t, ctx, { DOWNLOAD_MAX_CONCURRENT: '3', DOWNLOAD_STALL_MS: '60000', RATE_LIMIT_MAX: '100000' })
  const url = await listen(small3)
  const held: ClientRequest[] = []
  // Three different agents (read:any), so no per-user limit is involved.
  const agent = (n: number) => ({ authorization: `Bearer ${token({ sub: `agent-${n}`, scope: 'attachments:read:any' })}` })
  const statuses: number[] = []
  for (let n = 0; n < 3; n++) {
    statuses.push(await new Promise<number>((resolve, reject) => {
      const request = httpRequest(`${url}/v1/attachments/${dialogId}/${big.id}`, { headers: agent(n), agent: false }, (res) => {
        res.pause()
        resolve(res.statusCode ?? 0)
      })
      request.on('error', reject).end()
      held.push(request)
    }))
  }
  t.same(statuses, [200, 200, 200])
  const refused = await send(`${url}/v1/attachments/${dialogId}/${big.id}`, { headers: agent(9) })
  t.equal(refused.status, 503)
  t.equal(refused.headers['retry-after'], '5')
  t.match(JSON.parse(refused.body.toString()), { code: 'ATT_BUSY' })
  const head = await send(`${url}/v1/attachments/${dialogId}/${big.id}`, { method: 'HEAD', headers: agent(9) })
  t.equal(head.status, 200, 'HEAD streams nothing and needs no slot')
  for (const request of held) request.destroy()
  await until(() => small3.slots.downloads.inFlight === 0)
  t.equal((await send(`${url}/v1/attachments/${small.dialogId}/${small.id}`, { headers: bearer(other) })).status, 200, 'free again once they hang up')
})
