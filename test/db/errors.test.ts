// A Postgres outage is recognised by where its error comes from: network
// codes count only inside a failed query; the driver's own connection codes
// and the SQLSTATEs of an unavailable server count anywhere. A client that
// hangs up raises ECONNRESET too, and is no database outage.
import { DrizzleQueryError } from 'drizzle-orm/errors'
import postgres from 'postgres'
import t from 'tap'
import { isDatabaseUnavailable } from '../../src/db/errors.js'
import { freePort } from '../support/process.js'

const withCode = (code: string, name = 'Error') => Object.assign(new Error(code), { code, name })

t.test('an aborted request body is not a database outage', async (t) => {
  const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 })
  t.notOk(isDatabaseUnavailable(aborted))
  t.notOk(isDatabaseUnavailable(withCode('EPIPE')))
  t.notOk(isDatabaseUnavailable(withCode('ETIMEDOUT')))
})

t.test('the same network codes inside a failed query are', async (t) => {
  t.ok(isDatabaseUnavailable(new DrizzleQueryError('select 1', [], withCode('ECONNREFUSED'))))
  t.ok(isDatabaseUnavailable(new DrizzleQueryError('select 1', [], withCode('ECONNRESET'))))
  t.ok(isDatabaseUnavailable(withCode('CONNECTION_CLOSED')), 'the driver\'s own code')
  t.ok(isDatabaseUnavailable(withCode('57014', 'PostgresError')), 'statement timeout')
  t.ok(isDatabaseUnavailable(withCode('57P01', 'PostgresError')), 'server shutting down')
  t.notOk(isDatabaseUnavailable(withCode('23505', 'PostgresError')), 'a unique violation is a bug, not an outage')
})

t.test('real driver errors: a query and a transaction against a closed port', async (t) => {
  const sql = postgres(`postgres://postgres@127.0.0.1:${await freePort()}/x`, { connect_timeout: 2, max: 1, onnotice: () => {} })
  t.teardown(() => sql.end({ timeout: 1 }))
  const query = await sql`SELECT 1`.catch((err: unknown) => err)
  t.ok(isDatabaseUnavailable(query), 'a failed query')
  const transaction = await sql.begin(async (tx) => tx`SELECT 1`).catch((err: unknown) => err)
  t.ok(isDatabaseUnavailable(transaction), 'a transaction that cannot begin')
})
