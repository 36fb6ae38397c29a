// The browser route's rate limit: one Redis budget per user and client IP,
// shared by every instance, honest about proxies, and failing open.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { build, id, listen, redisReady, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'
import { send } from '../support/http.js'
import { scrape } from '../support/prometheus.js'
import { startRedis } from '../support/redis-server.js'

const ctx = await setup(t)
const MAX = 5
/** A fresh budget namespace for each scenario. */
const limited = (t: Test, overrides: Record<string, string> = {}) =>
  build(t, ctx, { RATE_LIMIT_MAX: String(MAX), REDIS_KEY_PREFIX: `${ctx.redisPrefix}${randomUUID()}:`, ...overrides })

const seed = await limited(t)
const dialogId = id('dlg')
const ownerId = id('owner')
const file = await attach(seed.app, dialogId, 'hello', { ownerId })
const path = (attachmentId = file.id) => `/v1/attachments/${dialogId}/${attachmentId}`
const as = (sub: string) => ({ authorization: `Bearer ${token({ sub })}` })

async function statuses (app: FastifyInstance, count: number, request: () => InjectOptions): Promise<number[]> {
  const result: number[] = []
  for (let i = 0; i < count; i++) result.push((await app.inject(request())).statusCode)
  return result
}

t.test('over the limit: 429 with an integer Retry-After, the limit headers and one body for all', async (t) => {
  const { app } = await limited(t)
  t.same(await statuses(app, MAX, () => ({ url: path(), headers: as(ownerId) })), Array(MAX).fill(200))
  const existing = await app.inject({ url: path(), headers: as(ownerId) })
  const unknown = await app.inject({ url: path(randomUUID()), headers: as(ownerId) })
  for (const res of [existing, unknown] as LightMyRequestResponse[]) {
    t.equal(res.statusCode, 429)
    t.match(res.headers['retry-after'], /^[1-9]\d*$/, 'whole seconds')
    t.ok(Number(res.headers['retry-after']) <= 60)
    t.equal(res.headers['x-ratelimit-limit'], String(MAX))
    t.equal(res.headers['x-ratelimit-remaining'], '0')
    t.match(res.headers['x-ratelimit-reset'], /^\d+$/)
    t.match(res.headers, {
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
      'cross-origin-resource-policy': 'same-site',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store'
    }, 'the safety headers, and no caching')
    t.match(res.json(), { statusCode: 429, code: 'ATT_RATE_LIMITED', error: 'Too Many Requests' })
  }
  t.equal(existing.body, unknown.body, 'the same body whether the attachment exists or not')
})

t.test('the budget belongs to the user at an IP; requests without a valid token share the IP\'s', async (t) => {
  const { app } = await limited(t)
  await statuses(app, MAX, () => ({ url: path(), headers: as(ownerId) }))
  t.equal((await app.inject({ url: path(), headers: as(ownerId) })).statusCode, 429, 'the owner is limited')
  t.equal((await app.inject({ url: path(), headers: as('agent'), remoteAddress: '127.0.0.1' })).statusCode, 404, 'another user is not')
  t.equal((await app.inject({ url: path(), headers: as(ownerId), remoteAddress: '10.1.1.1' })).statusCode, 200, 'nor the owner elsewhere')

  const probing = await statuses(app, MAX + 2, () => ({ url: path(randomUUID()), headers: { authorization: 'Bearer forged' }, remoteAddress: '10.9.9.9' }))
  t.same(probing, [...Array(MAX).fill(401), 429, 429], '401 probing is limited by IP')
  t.equal((await app.inject({ url: path(), remoteAddress: '10.9.9.9' })).statusCode, 429, 'no token: the same IP budget')
})

t.test('three instances on one Redis share one budget', async (t) => {
  const prefix = `${ctx.redisPrefix}${randomUUID()}:`
  const instances = await Promise.all([0, 1, 2].map(async () => listen((await limited(t, { REDIS_KEY_PREFIX: prefix })).app)))
  const seen: number[] = []
  for (let i = 0; i < 3 * MAX; i++) {
    const res = await send(`${instances[i % 3]}${path()}`, { headers: as(ownerId) })
    seen.push(res.status)
  }
  t.equal(seen.filter((s) => s === 200).length, MAX, `exactly ${MAX} pass across the instances`)
  t.same(seen.slice(MAX), Array(2 * MAX).fill(429))
})

async function storeCalls (app: FastifyInstance): Promise<number> {
  return (await scrape(app)).value('chat_attachments_rate_limit_store_duration_seconds_count', { outcome: 'ok' })
}

t.test('budget taken in portions: one Redis call per portion, never more than the budget across three instances', async (t) => {
  const max = 40
  const portion = 10 // RATE_LIMIT_MAX / RATE_LIMIT_PORTIONS
  const prefix = `${ctx.redisPrefix}${randomUUID()}:`
  const apps = await Promise.all([0, 1, 2].map(async () => (await limited(t, { REDIS_KEY_PREFIX: prefix, RATE_LIMIT_MAX: String(max), RATE_LIMIT_PORTIONS: '4' })).app))
  const user = id('u')
  const seen: number[] = []
  for (let i = 0; i < 2 * max; i++) seen.push((await apps[i % 3]!.inject({ url: path(), headers: as(user) })).statusCode)
  const passed = seen.filter((s) => s === 404).length
  t.ok(passed <= max, `at most the budget passes (${passed} of ${max})`)
  t.ok(passed >= max - 2 * (portion - 1), 'at most a portion per other instance is held back')
  t.same(seen.filter((s) => s !== 404), Array(2 * max - passed).fill(429), 'the rest is refused')
  const calls = (await Promise.all(apps.map(storeCalls))).reduce((a, b) => a + b, 0)
  t.ok(calls < seen.length / 2, `far fewer Redis calls than requests (${calls} for ${seen.length})`)

  const [one] = apps
  const concurrent = id('u')
  const before = await storeCalls(one!)
  const answers = await Promise.all(Array.from({ length: 3 * portion }, () => one!.inject({ url: path(), headers: as(concurrent) })))
  t.same(answers.map((res) => res.statusCode), Array(3 * portion).fill(404))
  t.equal(await storeCalls(one!) - before, 3, 'concurrent requests share each Redis call: one per portion')
})

t.test('X-Forwarded-For counts only from the proxies in TRUST_PROXY', async (t) => {
  const spoof = (app: FastifyInstance) => statuses(app, MAX + 1, () => ({ url: path(), remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': `203.0.113.${Math.floor(Math.random() * 250)}` } }))
  const direct = await limited(t)
  t.same(await spoof(direct.app), [...Array(MAX).fill(401), 429], 'no TRUST_PROXY: a spoofed header does not reset the budget')
  const elsewhere = await limited(t, { TRUST_PROXY: '10.0.0.0/8' })
  t.same(await spoof(elsewhere.app), [...Array(MAX).fill(401), 429], 'the peer is not a listed proxy: ignored')

  const proxied = await limited(t, { TRUST_PROXY: '127.0.0.1, ::1' })
  const client = (ip: string) => ({ url: path(), remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': ip } })
  t.same(await statuses(proxied.app, MAX + 1, () => client('198.51.100.7')), [...Array(MAX).fill(401), 429], 'behind a listed proxy the client IP counts')
  t.equal((await proxied.app.inject(client('198.51.100.8'))).statusCode, 401, 'another client behind it has its own budget')
})

t.test('Redis down: downloads keep working, then limits come back by themselves', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.close())
  // Downloads in parallel: the per-viewer stream limit is not what is tested.
  const { app, logs } = await limited(t, { REDIS_URL: redis.url, DOWNLOAD_MAX_CONCURRENT_PER_USER: '100' })
  await redisReady(app)
  t.same(await statuses(app, MAX + 1, () => ({ url: path(), headers: as(ownerId) })), [...Array(MAX).fill(200), 429], 'limited while Redis is up')

  await redis.stop()
  const outage = performance.now()
  // Answered while Redis stays down (it is started again only after): no
  // request waits for it, none is queued until it is back.
  // The owner's budget of this window is known to be spent: still refused.
  // Anyone else needs Redis for a place, cannot get one, and is served.
  t.equal((await app.inject({ url: path(), headers: as(ownerId) })).statusCode, 429, 'a budget known spent stays spent until its window ends')
  const other = id('u')
  const whileDown = await Promise.all(Array.from({ length: 30 }, () => app.inject({ url: path(), headers: as(other) })))
  t.same(whileDown.map((res) => res.statusCode), Array(30).fill(404), 'Redis stopped: served, unlimited (fail open)')
  // Each of the two reporters (client, store) logs its first failure, then
  // at most one line per 30 s: the bound follows the outage's real length.
  const failureLines = logs.filter((line) => line.includes('is failing')).length
  const allowed = 2 * (1 + Math.floor((performance.now() - outage) / 30_000))
  t.ok(failureLines >= 1 && failureLines <= allowed, `the outage is logged, not once per request (${failureLines} lines, at most ${allowed})`)

  await redis.start()
  await redisReady(app)
  const user = id('u')
  t.same(await statuses(app, MAX + 1, () => ({ url: path(), headers: as(user) })), [...Array(MAX).fill(404), 429], 'Redis back: limiting resumed by itself')
})

t.test('Redis frozen (accepts, never answers): downloads are served once the command timeout passes', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.close())
  // A short command timeout, so this app fails open soon. Only here: on a
  // starved machine it also fires spuriously, so nothing here is counted.
  const { app } = await limited(t, { REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '200' })
  await redisReady(app)
  redis.freeze()
  try {
    // Answered while Redis is still frozen: each request gave up on Redis.
    const frozen = await Promise.all(Array.from({ length: 10 }, () => app.inject({ url: path(), headers: as(ownerId) })))
    t.same(frozen.map((res) => res.statusCode), Array(10).fill(200), 'Redis frozen: served, unlimited')
  } finally {
    redis.thaw()
  }
})

t.test('the service starts while Redis is down, and serves unlimited (forced: Redis on a closed port)', async (t) => {
  const { app } = await limited(t, { REDIS_URL: 'redis://127.0.0.1:1' })
  t.same(await statuses(app, MAX + 2, () => ({ url: path(), headers: as(ownerId) })), Array(MAX + 2).fill(200))
})
