// The read audit through the real app: every 200/206 of an original is one
// event (who, how granted, token source, bytes, hashed address), 304s are
// counted in one row, HEAD is not a read, writes happen in batches, the
// last batch is written on close, and the chat app pages through the log.
import { createHmac } from 'node:crypto'
import t from 'tap'
import { auth, build, id, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'

const ctx = await setup(t)
const SALT = 'audit-salt-for-the-tests'
// A long interval: nothing is written until the test flushes, so what a
// write holds is decided by construction.
const { app } = await build(t, ctx, { AUDIT_FLUSH_MS: '600000', AUDIT_IP_SALT: SALT })
const dialogId = id('d')
const ownerId = id('o')
const content = Buffer.from('0123456789'.repeat(100))
const file = await attach(app, dialogId, content, { ownerId })
const url = `/v1/attachments/${dialogId}/${file.id}`

async function log (query = '') {
  const res = await app.inject({ url: `/internal/v1/dialogs/${dialogId}/access-log${query}`, headers: auth() })
  t.equal(res.statusCode, 200)
  return res.json() as { events: Array<Record<string, unknown>>, nextCursor: string | null }
}

const rowsWritten = async () => (await ctx.sql`SELECT count(*)::int AS n FROM attachment_access`)[0]!.n as number

t.test('each read is an event with who, how, which token source, bytes and the hashed address', async (t) => {
  t.equal((await app.inject({ url, headers: { authorization: `Bearer ${token({ sub: ownerId })}` } })).statusCode, 200)
  t.equal((await app.inject({ url, headers: { authorization: `Bearer ${token({ sub: ownerId })}`, range: 'bytes=10-19' } })).statusCode, 206)
  t.equal((await app.inject({ url, headers: { cookie: `chat_token=${token({ sub: 'agent-7', scope: 'attachments:read:any' })}` } })).statusCode, 200)
  t.equal((await app.inject({ url: `${url}?token=${token({ dlg: dialogId })}` })).statusCode, 200)
  t.equal((await app.inject({ url, method: 'HEAD', headers: { authorization: `Bearer ${token({ sub: ownerId })}` } })).statusCode, 200)
  t.equal(await rowsWritten(), 0, 'nothing written before the interval')
  await app.audit!.flush()
  const { events } = await log()
  const hash = createHmac('sha256', SALT).update('127.0.0.1').digest('base64url').slice(0, 22)
  t.match(events, [
    { viewer: `dlg:${dialogId}`, grantedBy: 'dialog_link', tokenSource: 'query', status: 200, bytes: 1000 },
    { viewer: 'agent-7', grantedBy: 'read_any', tokenSource: 'cookie', status: 200, bytes: 1000 },
    { viewer: ownerId, grantedBy: 'owner', tokenSource: 'header', status: 206, bytes: 10 },
    { viewer: ownerId, grantedBy: 'owner', tokenSource: 'header', status: 200, bytes: 1000, variant: 'original', attachmentId: file.id, count: 1, clientHash: hash }
  ], 'newest first, HEAD not logged')
  t.equal(events.length, 4)
  t.notOk(JSON.stringify(events).includes('127.0.0.1'), 'the address itself is not stored')
})

t.test('304s are counted, not logged one by one; one write per flush', async (t) => {
  const before = await rowsWritten()
  for (let i = 0; i < 25; i++) {
    const res = await app.inject({ url, headers: { authorization: `Bearer ${token({ sub: ownerId })}`, 'if-none-match': file.etag } })
    t.equal(res.statusCode, 304)
  }
  await app.audit!.flush()
  t.equal(await rowsWritten(), before + 1, 'one row')
  const { events } = await log()
  t.match(events[0], { status: 304, count: 25, bytes: 0, viewer: ownerId })
})

t.test('paging: newest first with a cursor, since and until; a forged cursor is 400', async (t) => {
  const page1 = await log('?limit=2')
  t.equal(page1.events.length, 2)
  t.type(page1.nextCursor, 'string')
  const page2 = await log(`?limit=2&cursor=${page1.nextCursor}`)
  const page3 = await log(`?limit=2&cursor=${page2.nextCursor}`)
  const all = await log()
  t.same([...page1.events, ...page2.events, ...page3.events], all.events, 'the pages add up to the whole log')
  t.equal(page3.nextCursor, null, 'the last page says so')
  const future = await log(`?since=${new Date(Date.now() + 3_600_000).toISOString()}`)
  t.same(future.events, [])
  const past = await log('?until=2000-01-01T00:00:00.000Z')
  t.same(past.events, [])
  const forged = await app.inject({ url: `/internal/v1/dialogs/${dialogId}/access-log?cursor=bm9wZQ`, headers: auth() })
  t.equal(forged.statusCode, 400)
})

t.test('what is still in memory is written when the app closes (SIGTERM closes the app)', async (t) => {
  const { app: closing } = await build(t, ctx, { AUDIT_FLUSH_MS: '600000' })
  const other = id('d')
  const staged = await attach(closing, other, 'bytes', { ownerId })
  for (let i = 0; i < 3; i++) {
    await closing.inject({ url: `/v1/attachments/${other}/${staged.id}`, headers: { authorization: `Bearer ${token({ sub: ownerId })}` } })
  }
  t.equal((await ctx.sql`SELECT count(*)::int AS n FROM attachment_access WHERE dialog_id = ${other}`)[0]!.n, 0)
  await closing.close()
  const rows = await ctx.sql`SELECT client_hash FROM attachment_access WHERE dialog_id = ${other}`
  t.equal(rows.length, 3, 'all three written on close')
  t.equal(rows[0]!.client_hash, null, 'no salt: no address recorded')
})
