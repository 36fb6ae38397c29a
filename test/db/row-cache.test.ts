// The browser read path's row cache against real Postgres and two
// instances: a cached row is dropped when any instance, or plain SQL,
// changes or deletes it; the instance that deletes forgets at once; a read
// that began before a change never stores what it read; and when the change
// feed is lost the cache stops answering within ROW_CACHE_MAX_STALENESS_MS.
// Every "after the change" below waits for the cache's own heartbeat sent
// after the change: notifications arrive in commit order, so by then the
// change's notification has been handled, whatever the machine's speed.
import postgres from 'postgres'
import t from 'tap'
import { createRowCache } from '../../src/db/row-cache.js'
import { auth, build, id, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'
import { startTcpProxy } from '../support/tcp-proxy.js'
import { waitUntil } from '../support/wait.js'

const ctx = await setup(t)
// A bound far beyond any stall of a busy machine: what is tested here is the
// notifications; the bound has its own tests below.
const a = await build(t, ctx, { ROW_CACHE_MAX_STALENESS_MS: '60000' })
const b = await build(t, ctx, { ROW_CACHE_MAX_STALENESS_MS: '60000' })
const ownerId = id('o')
const reader = { authorization: `Bearer ${token({ sub: ownerId })}` }

async function cachedOnA (dialogId: string, body = 'hello') {
  const file = await attach(a.app, dialogId, body, { ownerId })
  const url = `/v1/attachments/${dialogId}/${file.id}`
  await a.app.rowCache!.synced()
  for (let i = 0; i < 2; i++) t.equal((await a.app.inject({ url, headers: reader })).statusCode, 200)
  t.ok(a.app.rowCache!.get(file.id), 'the row is cached on A')
  return { file, url }
}

async function lookups (outcome: string): Promise<number> {
  const metric = await a.app.metrics.registry.getSingleMetric('chat_attachments_row_cache_lookups_total')!.get()
  return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0
}

t.test('a second read of a row is answered from memory', async (t) => {
  const hits = await lookups('hit')
  await cachedOnA(id('d'))
  t.ok(await lookups('hit') > hits, 'counted as a hit')
})

t.test('deleted through the other instance: gone from the cache once the notification is in', async (t) => {
  const dialogId = id('d')
  const { file, url } = await cachedOnA(dialogId)
  const res = await b.app.inject({ method: 'DELETE', url: `/internal/v1/dialogs/${dialogId}/attachments/${file.id}`, headers: auth() })
  t.equal(res.statusCode, 204)
  await a.app.rowCache!.synced()
  t.equal(a.app.rowCache!.get(file.id), undefined, 'dropped')
  t.equal((await a.app.inject({ url, headers: reader })).statusCode, 404)
})

t.test('changed by plain SQL behind the service: dropped as well', async (t) => {
  const { file, url } = await cachedOnA(id('d'))
  await ctx.sql`UPDATE chat_attachment SET owner_id = 'someone-else' WHERE id = ${file.id}`
  await a.app.rowCache!.synced()
  t.equal((await a.app.inject({ url, headers: reader })).statusCode, 404, 'the new owner decides')
})

t.test('the instance that deletes forgets the row before it answers', async (t) => {
  const dialogId = id('d')
  const { file, url } = await cachedOnA(dialogId)
  const res = await a.app.inject({ method: 'DELETE', url: `/internal/v1/dialogs/${dialogId}/attachments/${file.id}`, headers: auth() })
  t.equal(res.statusCode, 204)
  t.equal(a.app.rowCache!.get(file.id), undefined, 'no wait for the notification')
  t.equal((await a.app.inject({ url, headers: reader })).statusCode, 404)
})

t.test('a read that began before a change does not store what it read', async (t) => {
  const { file } = await cachedOnA(id('d'))
  const cache = a.app.rowCache!
  const before = cache.get(file.id)!
  const started = cache.begin()
  await ctx.sql`UPDATE chat_attachment SET file_name = 'renamed.txt' WHERE id = ${file.id}`
  await cache.synced()
  cache.set(file.id, before, started)
  t.equal(cache.get(file.id), undefined, 'the old row was not stored')
  const again = cache.begin()
  cache.set(file.id, { ...before, fileName: 'renamed.txt' }, again)
  t.equal(cache.get(file.id)?.fileName, 'renamed.txt', 'a read begun after the change is stored')
})

t.test('the listener\'s connection is killed: what changed meanwhile is not served', async (t) => {
  const { file, url } = await cachedOnA(id('d'))
  const [killed] = await ctx.sql<Array<{ pid: number }>>`
    SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity
    WHERE datname = current_database() AND query ILIKE 'listen%' AND pid <> pg_backend_pid()`
  t.ok(killed, 'a listener was found and terminated')
  await ctx.sql`UPDATE chat_attachment SET owner_id = 'someone-else' WHERE id = ${file.id}`
  // The heartbeat comes back only over a new listener, which empties the cache.
  await a.app.rowCache!.synced()
  t.equal((await a.app.inject({ url, headers: reader })).statusCode, 404)
})

t.test('the change feed lost (Postgres unreachable): the cache stops answering within its bound', async (t) => {
  const target = new URL(ctx.databaseUrl)
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) })
  const url = new URL(ctx.databaseUrl)
  url.port = String(proxy.port)
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {}, connect_timeout: 2 })
  const stale: number[] = []
  const cache = createRowCache<{ id: string }, never>({
    sql,
    maxEntries: 10,
    maxStalenessMs: 300,
    log: a.app.log,
    stats: { hit () {}, miss () {}, stale: () => stale.push(1), invalidated () {} }
  })
  t.teardown(async () => {
    await cache.close()
    await sql.end({ timeout: 1 })
    await proxy.close()
  })
  await cache.synced()
  cache.set('r1', { id: 'r1' }, cache.begin())
  t.same(cache.get('r1'), { id: 'r1' }, 'served while the feed is confirmed')
  // No notification can arrive and no listener can come back: only the
  // staleness bound can make the cache stop answering.
  proxy.cut()
  await waitUntil(() => cache.get('r1') === undefined, 'the cache to stop answering', 10_000)
  t.ok(stale.length > 0, 'lookups were counted as stale')
  t.equal(cache.size, 0, 'and it was emptied')
  t.notOk(cache.current)
})

t.test('ROW_CACHE_MAX_ENTRIES=0: no cache, every read asks Postgres', async (t) => {
  const c = await build(t, ctx, { ROW_CACHE_MAX_ENTRIES: '0' })
  t.equal(c.app.rowCache, undefined)
  const dialogId = id('d')
  const file = await attach(c.app, dialogId, 'x', { ownerId })
  t.equal((await c.app.inject({ url: `/v1/attachments/${dialogId}/${file.id}`, headers: reader })).statusCode, 200)
})

t.test('Postgres lost while rows are cached: once the bound has passed, reads are 503, not answered from memory', async (t) => {
  const target = new URL(ctx.databaseUrl)
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) })
  t.teardown(() => proxy.close())
  const url = new URL(ctx.databaseUrl)
  url.port = String(proxy.port)
  const c = await build(t, ctx, { DATABASE_URL: url.toString(), ROW_CACHE_MAX_STALENESS_MS: '300' })
  const dialogId = id('d')
  const file = await attach(c.app, dialogId, 'x', { ownerId })
  await c.app.rowCache!.synced()
  const path = `/v1/attachments/${dialogId}/${file.id}`
  for (let i = 0; i < 2; i++) t.equal((await c.app.inject({ url: path, headers: reader })).statusCode, 200)
  t.ok(c.app.rowCache!.get(file.id), 'cached')
  proxy.cut()
  await waitUntil(() => !c.app.rowCache!.current, 'the cache to stop answering', 10_000)
  t.equal((await c.app.inject({ url: path, headers: reader })).statusCode, 503)
})
