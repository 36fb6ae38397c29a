// loadConfig, the one schema of the service, and the process-level contract:
// a bad environment stops the server with one line naming the variable.
import { generateKeyPairSync } from 'node:crypto'
import { availableParallelism } from 'node:os'
import t from 'tap'
import { allowedTypes, ConfigError, jwtVerification, loadConfig, previewConcurrency, previewSizes, type ConfigInput } from '../src/config.js'
import { runEntrypoint } from './support/process.js'

const SECRET = 'a-secret-of-at-least-thirty-two-chars!'

type Assert = Pick<typeof t, 'type' | 'notMatch' | 'fail'>

const valid = (): ConfigInput => ({
  DATABASE_URL: 'postgres://app@db.internal:5432/attachments',
  REDIS_URL: 'redis://cache.internal:6379',
  S3_BUCKET: 'chat-attachments',
  S3_REGION: 'eu-central-1',
  JWT_SECRET: SECRET
})

/** The ConfigError message for an environment, or a failure if it loads. */
function problem (t: Assert, env: ConfigInput): string {
  try {
    loadConfig(env)
  } catch (err) {
    t.type(err, ConfigError)
    const message = (err as Error).message
    t.notMatch(message, /\n/, 'one line')
    return message
  }
  t.fail(`expected a ConfigError for ${JSON.stringify(env)}`)
  return ''
}

const publicPem = (key: ReturnType<typeof generateKeyPairSync>['publicKey']) => key.export({ type: 'spki', format: 'pem' }).toString()
const rsa = (bits: number) => publicPem(generateKeyPairSync('rsa', { modulusLength: bits }).publicKey)
const ec = (namedCurve: string) => publicPem(generateKeyPairSync('ec', { namedCurve }).publicKey)

t.test('defaults are applied', async (t) => {
  const config = loadConfig(valid())
  t.match(config, {
    PORT: 3000,
    HOST: '0.0.0.0',
    LOG_LEVEL: 'info',
    S3_FORCE_PATH_STYLE: false,
    S3_KEY_PREFIX: 'attachments/',
    ATTACHMENT_MAX_BYTES: 26_214_400
  })
  for (const key of ['S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'JWT_PUBLIC_KEY', 'JWT_ISSUER', 'JWT_AUDIENCE', 'ATTACHMENT_ALLOWED_TYPES'] as const) {
    t.equal(config[key], undefined, `${key} stays unset`)
  }
  t.equal(allowedTypes(config), undefined, 'no allow-list: every type allowed')
})

t.test('numbers and booleans are coerced from strings', async (t) => {
  const config = loadConfig({ ...valid(), PORT: '8080', ATTACHMENT_MAX_BYTES: '1048576', S3_FORCE_PATH_STYLE: 'true', LOG_LEVEL: 'debug' })
  t.equal(config.PORT, 8080)
  t.equal(config.ATTACHMENT_MAX_BYTES, 1_048_576)
  t.equal(config.S3_FORCE_PATH_STYLE, true)
  t.equal(config.LOG_LEVEL, 'debug')
  t.equal(loadConfig({ ...valid(), S3_FORCE_PATH_STYLE: 'false' }).S3_FORCE_PATH_STYLE, false)
})

t.test('each missing required variable is named, and only it', async (t) => {
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'S3_BUCKET', 'S3_REGION']) {
    const env = valid()
    delete env[name]
    const message = problem(t, env)
    t.match(message, `${name} is required`, name)
    for (const other of ['DATABASE_URL', 'REDIS_URL', 'S3_BUCKET', 'S3_REGION', 'JWT_SECRET'].filter((n) => n !== name)) {
      t.notMatch(message, other, `${name}: ${other} is not blamed`)
    }
  }
  const both = problem(t, { ...valid(), DATABASE_URL: undefined, REDIS_URL: undefined, PORT: 'abc' })
  t.match(both, 'DATABASE_URL', 'every problem is on the one line')
  t.match(both, 'REDIS_URL')
  t.match(both, 'PORT')
})

t.test('RATE_LIMIT_STORE: redis by default and needs REDIS_URL; memory does not', async (t) => {
  t.equal(loadConfig(valid()).RATE_LIMIT_STORE, 'redis')
  const withoutRedis = { ...valid(), REDIS_URL: undefined }
  t.match(problem(t, withoutRedis), 'REDIS_URL is required', 'the default store needs Redis')
  t.match(problem(t, { ...withoutRedis, RATE_LIMIT_STORE: 'redis' }), 'REDIS_URL is required', 'so does an explicit redis')
  const config = loadConfig({ ...withoutRedis, RATE_LIMIT_STORE: 'memory' })
  t.equal(config.RATE_LIMIT_STORE, 'memory')
  t.equal(config.REDIS_URL, undefined, 'memory: REDIS_URL may stay unset')
  t.match(problem(t, { ...valid(), RATE_LIMIT_STORE: 'disk' }), 'RATE_LIMIT_STORE must be one of: redis, memory')
})

t.test('invalid values are named', async (t) => {
  const cases: Array<[string, string]> = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['LOG_LEVEL', 'loud'],
    ['S3_FORCE_PATH_STYLE', 'yes'],
    ['DATABASE_URL', 'mysql://app@db.internal/attachments'],
    ['REDIS_URL', 'http://cache.internal'],
    ['S3_ENDPOINT', 'ftp://s3.internal'],
    ['S3_KEY_PREFIX', 'attachments'],
    ['ATTACHMENT_MAX_BYTES', '0'],
    ['ATTACHMENT_MAX_BYTES', '1.5']
  ]
  for (const [name, value] of cases) {
    const message = problem(t, { ...valid(), [name]: value })
    t.match(message, name, `${name}=${value} is named`)
  }
})

t.test('JWT: exactly one of JWT_SECRET and JWT_PUBLIC_KEY, and a usable key', async (t) => {
  t.match(problem(t, { ...valid(), JWT_SECRET: undefined }), /JWT_SECRET or JWT_PUBLIC_KEY is required/, 'none')
  t.match(problem(t, { ...valid(), JWT_PUBLIC_KEY: rsa(2048) }), /JWT_SECRET and JWT_PUBLIC_KEY are both set/, 'both')
  t.match(problem(t, { ...valid(), JWT_SECRET: 'x'.repeat(31) }), 'JWT_SECRET', 'a secret shorter than 32 characters')
  const withKey = (key: string) => ({ ...valid(), JWT_SECRET: undefined, JWT_PUBLIC_KEY: key })
  t.match(problem(t, withKey('-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----')), 'JWT_PUBLIC_KEY', 'bad PEM')
  t.match(problem(t, withKey(SECRET)), 'JWT_PUBLIC_KEY', 'a secret is not a PEM')
  t.match(problem(t, withKey(rsa(1024))), /JWT_PUBLIC_KEY .*2048/, 'RSA-1024 is too weak')
  t.match(problem(t, withKey(ec('P-384'))), 'JWT_PUBLIC_KEY', 'P-384 is not ES256')
  t.match(problem(t, withKey(publicPem(generateKeyPairSync('ed25519').publicKey))), 'JWT_PUBLIC_KEY', 'Ed25519 is not supported')

  const rsaPem = rsa(2048)
  const ecPem = ec('P-256')
  t.equal(loadConfig(withKey(rsaPem)).JWT_PUBLIC_KEY, rsaPem, 'RSA-2048 accepted')
  t.equal(loadConfig(withKey(ecPem)).JWT_PUBLIC_KEY, ecPem, 'P-256 accepted')
  t.same(jwtVerification({ JWT_PUBLIC_KEY: rsaPem }).algorithms, ['RS256'])
  t.same(jwtVerification({ JWT_PUBLIC_KEY: ecPem }).algorithms, ['ES256'])
  t.same(jwtVerification({ JWT_SECRET: SECRET }), { key: SECRET, algorithms: ['HS256'] })

  const escaped = rsaPem.trim().replaceAll('\n', '\\n')
  t.doesNotThrow(() => loadConfig(withKey(escaped)), 'PEM with literal \\n escapes accepted')
  t.same(jwtVerification({ JWT_PUBLIC_KEY: escaped }), { key: rsaPem.trim(), algorithms: ['RS256'] }, 'and unescaped for verification')
})

t.test('S3 access key id and secret must be set together', async (t) => {
  t.match(problem(t, { ...valid(), S3_ACCESS_KEY_ID: 'AKIA' }), /S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY/)
  t.match(problem(t, { ...valid(), S3_SECRET_ACCESS_KEY: 'secret' }), /S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY/)
  t.match(loadConfig({ ...valid(), S3_ACCESS_KEY_ID: 'AKIA', S3_SECRET_ACCESS_KEY: 'secret' }), { S3_ACCESS_KEY_ID: 'AKIA', S3_SECRET_ACCESS_KEY: 'secret' })
})

t.test('ATTACHMENT_ALLOWED_TYPES: media types or type/*', async (t) => {
  const config = loadConfig({ ...valid(), ATTACHMENT_ALLOWED_TYPES: 'image/*, application/PDF,text/plain' })
  t.same(allowedTypes(config), ['image/*', 'application/pdf', 'text/plain'], 'trimmed and lower-cased')
  for (const value of ['png', 'image/png,', 'image/', '/png', 'image/png;q=1', 'image png/x']) {
    const message = problem(t, { ...valid(), ATTACHMENT_ALLOWED_TYPES: value })
    t.match(message, 'ATTACHMENT_ALLOWED_TYPES', JSON.stringify(value))
  }
  t.match(problem(t, { ...valid(), ATTACHMENT_ALLOWED_TYPES: 'image/png,nonsense' }), '"nonsense"', 'the bad entry is quoted')
})

t.test('image previews: defaults, sizes as sorted unique integers, concurrency 0 = one per CPU', async (t) => {
  const config = loadConfig(valid())
  t.match(config, {
    PREVIEW_SIZES: '320,1280',
    PREVIEW_MAX_FRAMES: 100,
    IMAGE_MAX_PIXELS: 50_000_000,
    PREVIEW_CONCURRENCY: 0,
    PREVIEW_QUEUE_MAX: 100,
    PREVIEW_TIMEOUT_MS: 20_000,
    PREVIEW_WAIT_MS: 10_000
  })
  t.same(previewSizes(config), [320, 1280])
  t.equal(previewConcurrency(config), availableParallelism())
  t.same(previewSizes(loadConfig({ ...valid(), PREVIEW_SIZES: ' 1280, 320 ,320,64' })), [64, 320, 1280])
  t.equal(previewConcurrency(loadConfig({ ...valid(), PREVIEW_CONCURRENCY: '3' })), 3)
  for (const bad of ['320,abc', '0', '8,320', '5000', '320,', '1e3', '-320', '1,2,3,4,5,6,7,8,9'.split(',').map((n) => 100 + Number(n)).join(',')]) {
    t.match(problem(t, { ...valid(), PREVIEW_SIZES: bad }), /^Invalid configuration: PREVIEW_SIZES /, `PREVIEW_SIZES=${bad}`)
  }
  for (const [name, value] of [['PREVIEW_MAX_FRAMES', '0'], ['IMAGE_MAX_PIXELS', '300000000'], ['PREVIEW_CONCURRENCY', '-1'], ['PREVIEW_QUEUE_MAX', 'many'], ['PREVIEW_TIMEOUT_MS', '10'], ['PREVIEW_WAIT_MS', '-5']]) {
    t.match(problem(t, { ...valid(), [name!]: value }), name!, `${name}=${value}`)
  }
})

t.test('empty strings count as unset', async (t) => {
  const config = loadConfig({ ...valid(), PORT: '', S3_ENDPOINT: '', JWT_PUBLIC_KEY: '', S3_ACCESS_KEY_ID: '', ATTACHMENT_ALLOWED_TYPES: '' })
  t.equal(config.PORT, 3000, 'default used')
  t.equal(config.S3_ENDPOINT, undefined)
  t.equal(config.JWT_PUBLIC_KEY, undefined, 'an empty key next to a secret is not "both set"')
  t.equal(config.ATTACHMENT_ALLOWED_TYPES, undefined)
  t.match(problem(t, { ...valid(), DATABASE_URL: '' }), 'DATABASE_URL is required')
})

t.test('loadConfig reads only the env it is given, never process.env', async (t) => {
  const saved = process.env.DATABASE_URL
  process.env.DATABASE_URL = 'postgres://from-process-env/db'
  t.teardown(() => {
    if (saved === undefined) delete process.env.DATABASE_URL
    else process.env.DATABASE_URL = saved
  })
  t.match(problem(t, { ...valid(), DATABASE_URL: undefined }), 'DATABASE_URL is required')
})

t.test('the subset form validates only the named variables', async (t) => {
  const env = { DATABASE_URL: 'postgres://app@db/attachments', PORT: 'abc', LOG_LEVEL: 'loud', S3_ACCESS_KEY_ID: 'lonely' }
  t.same(loadConfig(env, ['DATABASE_URL']), { DATABASE_URL: 'postgres://app@db/attachments' })
  t.throws(() => loadConfig({ PORT: '80' }, ['DATABASE_URL']), /DATABASE_URL is required/)
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }, ['DATABASE_URL']), /DATABASE_URL/)
})

/** Runs src/server.ts as the container would; one that starts after all is killed. */
const runServer = (env: ConfigInput) => runEntrypoint('src/server.ts', [], env, { timeoutMs: 30_000 })

t.test('the server stops with exit code 1 and one stderr line naming the variable', async (t) => {
  const cases: Array<[string, ConfigInput, RegExp]> = [
    ['DATABASE_URL missing', { ...valid(), DATABASE_URL: undefined }, /DATABASE_URL is required/],
    ['PORT invalid', { ...valid(), PORT: 'abc' }, /PORT/]
  ]
  for (const [name, env, expected] of cases) {
    const { code, stdout, stderr } = await runServer(env)
    t.equal(code, 1, `${name}: exit code`)
    t.match(stderr, /^[^\n]+\n$/, `${name}: exactly one line on stderr`)
    t.match(stderr, expected, `${name}: names the variable`)
    t.notMatch(stderr, /\bat .+:\d+:\d+/, `${name}: no stack trace`)
    t.equal(stdout, '', `${name}: nothing on stdout`)
  }
})
