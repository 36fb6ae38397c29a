// The one-line hints of a failed local start, for real failures of real
// components: a closed Postgres port, an unknown role, a taken HTTP port.
import { once } from 'node:events'
import { createServer } from 'node:net'
import postgres from 'postgres'
import t, { type Test } from 'tap'
import { startupHint } from '../../scripts/dev/hints.js'
import { StartupError } from '../../scripts/dev/services.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { BASE_DATABASE_URL } from '../helper.js'
import { freePort } from '../support/process.js'

async function failure (url: string): Promise<unknown> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} })
  try {
    await sql`SELECT 1`
  } catch (err) {
    return err
  } finally {
    await sql.end({ timeout: 1 })
  }
  throw new Error(`${url} answered`)
}

const oneLine = (t: Test, hint: string) => {
  t.notMatch(hint, /\n/, 'one line')
  t.notMatch(hint, /\bat .+:\d+:\d+/, 'no stack trace')
}

t.test('Postgres not listening: where, and the three ways out', async (t) => {
  const url = `postgres://postgres@127.0.0.1:${await freePort()}/attachments`
  const hint = startupHint(await failure(url), { DATABASE_URL: url })
  oneLine(t, hint)
  t.match(hint, /^Cannot reach Postgres at 127\.0\.0\.1:\d+ \(DATABASE_URL\): connection refused\./)
  t.match(hint, 'unset DATABASE_URL to use the embedded Postgres')
})

t.test('an unknown role: named, with what to correct', async (t) => {
  const url = new URL(BASE_DATABASE_URL)
  url.username = 'no_such_role_for_hints'
  const hint = startupHint(await failure(url.toString()), { DATABASE_URL: url.toString() })
  oneLine(t, hint)
  t.match(hint, 'refused no_such_role_for_hints: role "no_such_role_for_hints" does not exist. Correct the user or password in DATABASE_URL')
})

t.test('the HTTP port is taken: how to start a second instance', async (t) => {
  const holder = createServer().listen(0, '127.0.0.1')
  await once(holder, 'listening')
  t.teardown(() => holder.close())
  const port = (holder.address() as { port: number }).port
  const second = createServer().listen(port, '127.0.0.1')
  const [err] = await once(second, 'error')
  const hint = startupHint(err, { PORT: String(port), HOST: '127.0.0.1' })
  oneLine(t, hint)
  t.equal(hint, `Port ${port} on 127.0.0.1 is in use (another npm run dev?): start this one on another port, e.g. PORT=3001 npm run dev`)
})

t.test('configuration and local-service errors are already hints; anything else is one line unless LOG_LEVEL=debug', async (t) => {
  let configError: unknown
  try {
    loadConfig({ PORT: 'abc' })
  } catch (err) {
    configError = err
  }
  t.type(configError, ConfigError)
  t.equal(startupHint(configError, {}), (configError as Error).message)
  t.equal(startupHint(new StartupError('Starting the embedded Postgres failed: x'), {}), 'Starting the embedded Postgres failed: x')
  const unexpected = new Error('boom')
  t.equal(startupHint(unexpected, {}), 'Start failed: boom (LOG_LEVEL=debug shows the stack)')
  t.match(startupHint(unexpected, { LOG_LEVEL: 'debug' }), /^Start failed: Error: boom\n\s+at /, 'the stack on request')
})
