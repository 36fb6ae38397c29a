// Liveness and readiness against the real dependencies; the failures are
// forced for real: a killed S3 server and a Postgres URL on a closed port.
import t from 'tap'
import { build, setup } from '../helper.js'
import { freePort } from '../support/process.js'

const ctx = await setup(t)

/** A loopback port nothing listens on: bound once by the OS, then released. */
t.test('GET /health/live: 200 {status: ok}', async (t) => {
  const { app } = await build(t, ctx)
  const res = await app.inject('/health/live')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('GET /health/ready: 200 when Postgres and S3 answer', async (t) => {
  const { app } = await build(t, ctx)
  const res = await app.inject('/health/ready')
  t.equal(res.statusCode, 200)
  t.match(res.json(), { status: 'ok', checks: { postgres: { ok: true }, s3: { ok: true } } })
})

t.test('GET /health/ready with the S3 server killed (forced failure): 503 naming s3, 200 again once it is back', async (t) => {
  const { app } = await build(t, ctx)
  t.equal((await app.inject('/health/ready')).statusCode, 200, 'ready before the failure')
  await ctx.s3.stop()
  let restarted = false
  // Restarted even when an assertion below throws, so later tests see S3;
  // only once, as a second server on the same port would fail to bind.
  t.teardown(async () => { if (!restarted) await ctx.s3.start() })
  const down = await app.inject('/health/ready')
  t.equal(down.statusCode, 503)
  const body = down.json()
  t.equal(body.status, 'unavailable')
  t.equal(body.checks.s3.ok, false, 's3 is named as the failed dependency')
  t.type(body.checks.s3.error, 'string', 'with a reason')
  t.equal(body.checks.postgres.ok, true, 'postgres is not blamed')
  t.notMatch(down.body, /\n\s+at /, 'no stack trace')

  await ctx.s3.start()
  restarted = true
  const up = await app.inject('/health/ready')
  t.equal(up.statusCode, 200, 'ready again after S3 restarted')
  t.match(up.json(), { status: 'ok', checks: { s3: { ok: true } } })
})

t.test('GET /health/ready with DATABASE_URL on a closed port (forced failure): 503 naming postgres', async (t) => {
  const port = await freePort()
  const { app } = await build(t, ctx, { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/nothing` })
  const res = await app.inject('/health/ready')
  t.equal(res.statusCode, 503)
  const body = res.json()
  t.equal(body.status, 'unavailable')
  t.equal(body.checks.postgres.ok, false, 'postgres is named as the failed dependency')
  t.type(body.checks.postgres.error, 'string', 'with a reason')
  t.equal(body.checks.s3.ok, true, 's3 is not blamed')

  const live = await app.inject('/health/live')
  t.equal(live.statusCode, 200, 'still alive: a dependency outage must not restart the pod')
})
