// The dependencies' health as the metrics tell it, each fault made real:
// a Redis that is stopped (the limiter fails open), a Postgres table held
// locked (queries queue for the pool, then hit the statement timeout), and
// a rate limit that is exceeded.
import t from 'tap'
import { build, id, listen, redisReady, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'
import { send } from '../support/http.js'
import { scrape } from '../support/prometheus.js'
import { startRedis } from '../support/redis-server.js'
import { waitUntil } from '../support/wait.js'

t.setTimeout(240_000)
const ctx = await setup(t)
const seed = await build(t, ctx)
const dialogId = id('dlg')
const ownerId = id('owner')
const file = await attach(seed.app, dialogId, 'some bytes', { ownerId })
const owner = { authorization: `Bearer ${token({ sub: ownerId })}` }
const path = `/v1/attachments/${dialogId}/${file.id}`

t.test('Redis stopped: each request served unlimited is a fail-open event; the gauge says so until it is back', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.close())
  // Portions of one place: every request asks Redis (no reserved places to spend while it is down).
  const { app } = await build(t, ctx, { REDIS_URL: redis.url, RATE_LIMIT_PORTIONS: '1000000' })
  await redisReady(app)
  const base = await listen(app)
  t.equal((await send(base + path, { headers: owner })).status, 200)
  const before = await scrape(app)
  t.equal(before.value('chat_attachments_rate_limit_store_failing'), 0)
  t.ok(before.value('chat_attachments_rate_limit_store_duration_seconds_count', { outcome: 'ok' }) >= 1, 'store latency observed')

  await redis.stop()
  const down = await Promise.all(Array.from({ length: 5 }, () => send(base + path, { headers: owner })))
  t.same(down.map((res) => res.status), [200, 200, 200, 200, 200], 'served while Redis is down')
  const during = await scrape(app)
  t.equal(during.value('chat_attachments_rate_limit_fail_open_total') - before.value('chat_attachments_rate_limit_fail_open_total'), 5, 'one fail-open event per request')
  t.equal(during.value('chat_attachments_rate_limit_store_failing'), 1, 'failing while down')

  await redis.start()
  await redisReady(app)
  t.equal((await send(base + path, { headers: owner })).status, 200)
  t.equal((await scrape(app)).value('chat_attachments_rate_limit_store_failing'), 0, 'back: no longer failing')
})

t.test('Postgres: queries queued for a busy pool, then failed by the statement timeout', async (t) => {
  // Without the row cache, so that every read asks Postgres.
  const { app } = await build(t, ctx, { DATABASE_POOL_MAX: '1', DATABASE_STATEMENT_TIMEOUT_MS: '1000', DOWNLOAD_MAX_CONCURRENT_PER_USER: '100', ROW_CACHE_MAX_ENTRIES: '0' })
  const base = await listen(app)
  t.equal((await send(base + path, { headers: owner })).status, 200, 'the pool connection is open')
  const before = await scrape(app)
  let release = () => {}
  const released = new Promise<void>((resolve) => { release = resolve })
  let held = () => {}
  const holding = new Promise<void>((resolve) => { held = resolve })
  // Hold the table locked: the app's one connection blocks on it, and the
  // second request's query has no connection to run on.
  const lock = ctx.sql.begin(async (sql) => {
    await sql`LOCK TABLE chat_attachment IN ACCESS EXCLUSIVE MODE`
    held()
    await released
  })
  await holding
  const answers = Promise.all([send(base + path, { headers: owner }), send(base + path, { headers: owner })])
  await waitUntil(async () => (await scrape(app)).value('chat_attachments_postgres_operations_in_flight') >= 2, 'both queries issued')
  const queued = await scrape(app)
  // At least the second request waited (the revocation poll may queue too).
  t.ok(queued.value('chat_attachments_postgres_pool_waits_total') - before.value('chat_attachments_postgres_pool_waits_total') >= 1, 'a query waited for the pool')
  const statuses = (await answers).map((res) => res.status)
  release()
  await lock
  t.same(statuses, [503, 503], 'both time out: 503')
  const after = await scrape(app)
  t.ok(after.value('chat_attachments_postgres_errors_total', { kind: 'timeout' }) >= 1, 'the statement timeouts are counted')
  // The revocation poll queries every 250 ms: wait for a moment between two.
  await waitUntil(async () => (await scrape(app)).value('chat_attachments_postgres_operations_in_flight') === 0, 'nothing left in flight')
  t.pass('every settled query left the in-flight gauge')
})

t.test('429s by limit', async (t) => {
  const { app } = await build(t, ctx, { RATE_LIMIT_MAX: '2', REDIS_KEY_PREFIX: `${ctx.redisPrefix}${id('rl')}:` })
  const base = await listen(app)
  const statuses = []
  for (let i = 0; i < 3; i++) statuses.push((await send(base + path, { headers: owner })).status)
  t.same(statuses, [200, 200, 429])
  t.equal((await scrape(app)).value('chat_attachments_rate_limited_total', { limit: 'requests' }), 1)
})
