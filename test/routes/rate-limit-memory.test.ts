// RATE_LIMIT_STORE=memory: the browser route's limit counts in the process,
// Redis is never connected (REDIS_URL may be unset), and the start says so
// once in the log.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { build, id, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'

const ctx = await setup(t)
const MAX = 3
const memory = { RATE_LIMIT_STORE: 'memory', REDIS_URL: undefined, RATE_LIMIT_MAX: String(MAX) }

async function statuses (app: FastifyInstance, count: number, url: string, sub: string): Promise<number[]> {
  const result: number[] = []
  for (let i = 0; i < count; i++) result.push((await app.inject({ url, headers: { authorization: `Bearer ${token({ sub })}` } })).statusCode)
  return result
}

t.test('without REDIS_URL: limited in memory, one budget per instance, no Redis client', async (t) => {
  const first = await build(t, ctx, memory)
  const second = await build(t, ctx, memory)
  const dialogId = id('dlg')
  const ownerId = id('owner')
  const file = await attach(first.app, dialogId, 'hello', { ownerId })
  const url = `/v1/attachments/${dialogId}/${file.id}`

  t.same(await statuses(first.app, MAX + 1, url, ownerId), [...Array(MAX).fill(200), 429], 'the limit applies')
  t.same(await statuses(second.app, MAX + 1, url, ownerId), [...Array(MAX).fill(200), 429], 'another instance counts on its own')
  t.notOk(first.app.hasDecorator('redis'), 'the Redis plugin is not registered')
  const notices = first.logs.filter((line) => line.includes('RATE_LIMIT_STORE=memory'))
  t.equal(notices.length, 1, 'the start says once where the limit counts')
  t.match(notices[0], /"level":40/, 'as a warning: every instance has its own budget')
})

t.test('memory store with a REDIS_URL set (a closed port): Redis is never connected', async (t) => {
  const { app, logs } = await build(t, ctx, { ...memory, REDIS_URL: 'redis://127.0.0.1:1' })
  t.notOk(app.hasDecorator('redis'))
  const dialogId = id('dlg')
  const file = await attach(app, dialogId, 'hi', { ownerId: 'o' })
  t.same(await statuses(app, MAX + 1, `/v1/attachments/${dialogId}/${file.id}`, 'o'), [...Array(MAX).fill(200), 429])
  t.notOk(logs.some((line) => line.includes('Redis is failing')), 'no Redis failure: it is not used')
})
