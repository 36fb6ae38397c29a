// The malware gate's variables in the one configuration schema: off unless
// asked for, and a wrong value stops the process with a line naming it.
import t from 'tap'
import { ConfigError, loadConfig, type ConfigInput } from '../../src/config.js'
import { createScanner } from '../../src/scan/scanner.js'

const valid = (): ConfigInput => ({
  DATABASE_URL: 'postgres://app@db.internal:5432/attachments',
  REDIS_URL: 'redis://cache.internal:6379',
  S3_BUCKET: 'chat-attachments',
  S3_REGION: 'eu-central-1',
  JWT_SECRET: 'a-secret-of-at-least-thirty-two-chars!'
})

t.test('defaults: scanning off, clamd on 127.0.0.1:3310, 30 s budget', async (t) => {
  const config = loadConfig(valid())
  t.match(config, { SCAN_MODE: 'off', CLAMD_HOST: '127.0.0.1', CLAMD_PORT: 3310, SCAN_TIMEOUT_MS: 30_000 })
  t.equal(config.CLAMD_SOCKET, undefined)
  t.equal(createScanner(config), undefined, 'no scanner when off')
})

t.test('clamd mode with a socket path, an empty CLAMD_SOCKET counts as unset', async (t) => {
  const config = loadConfig({ ...valid(), SCAN_MODE: 'clamd', CLAMD_SOCKET: '/run/clamav/clamd.ctl', SCAN_TIMEOUT_MS: '5000' })
  t.match(config, { SCAN_MODE: 'clamd', CLAMD_SOCKET: '/run/clamav/clamd.ctl', SCAN_TIMEOUT_MS: 5000 })
  const scanner = createScanner(config)
  t.equal(scanner?.name, 'clamd')
  await scanner?.close()
  t.equal(loadConfig({ ...valid(), CLAMD_SOCKET: '' }).CLAMD_SOCKET, undefined)
})

t.test('wrong values are named', async (t) => {
  const cases: Array<[ConfigInput, RegExp]> = [
    [{ SCAN_MODE: 'clamav' }, /SCAN_MODE must be one of: off, clamd/],
    [{ CLAMD_PORT: '0' }, /CLAMD_PORT/],
    [{ CLAMD_PORT: '70000' }, /CLAMD_PORT/],
    [{ CLAMD_SOCKET: 'clamd.sock' }, /CLAMD_SOCKET/],
    [{ SCAN_TIMEOUT_MS: '0' }, /SCAN_TIMEOUT_MS/]
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig({ ...valid(), ...env }), ConfigError, JSON.stringify(env))
    t.throws(() => loadConfig({ ...valid(), ...env }), { message }, JSON.stringify(env))
  }
})
