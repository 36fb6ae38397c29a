// The one configuration schema of the service. The server and every CLI call
// loadConfig(process.env) once at start; nothing else reads the environment.
import { createPublicKey } from 'node:crypto'
import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'
import { fieldOf } from './fields.js'

const LogLevel = Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' })
const ChecksumMode = Type.Enum(['WHEN_REQUIRED', 'WHEN_SUPPORTED'], { default: 'WHEN_REQUIRED' })
const Milliseconds = (defaultValue: number) => Type.Integer({ minimum: 1, default: defaultValue })

// The S3 settings, written once: the schema takes them, S3_SETTINGS lists their names.
const S3_PROPERTIES = {
  S3_BUCKET: Type.String({ minLength: 3, maxLength: 63 }),
  S3_REGION: Type.String({ minLength: 1 }),
  S3_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://' })),
  S3_FORCE_PATH_STYLE: Type.Boolean({ default: false }),
  S3_ACCESS_KEY_ID: Type.Optional(Type.String({ minLength: 1 })),
  S3_SECRET_ACCESS_KEY: Type.Optional(Type.String({ minLength: 1 })),
  // Ends with "/": the key layout is "<prefix><dialogId>/<attachmentId>", and
  // the orphan sweep lists exactly this prefix.
  S3_KEY_PREFIX: Type.String({ pattern: '^[A-Za-z0-9!_.*()-][A-Za-z0-9!_.*()/-]*/$', default: 'attachments/' }),
  S3_CHECKSUMS: ChecksumMode,
  S3_CONNECT_TIMEOUT_MS: Milliseconds(3_000),
  S3_REQUEST_TIMEOUT_MS: Milliseconds(15_000),
  S3_SOCKET_TIMEOUT_MS: Milliseconds(60_000),
  S3_MAX_SOCKETS: Type.Integer({ minimum: 1, maximum: 10_000, default: 200 })
}

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  LOG_LEVEL: LogLevel,
  // Every connection is bounded in time: the request headers must arrive
  // within HTTP_HEADERS_TIMEOUT_MS, a request body within
  // HTTP_REQUEST_TIMEOUT_MS (uploads: a progress rule instead, see
  // UPLOAD_MIN_BYTES_PER_SECOND), and an idle keep-alive connection is closed
  // after HTTP_KEEP_ALIVE_TIMEOUT_MS (keep it above the load balancer's).
  HTTP_HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  HTTP_REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 72_000 }),
  // GET /metrics (Prometheus) on a listener of its own, never on PORT; 0 picks a free port.
  METRICS_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 9464 }),
  METRICS_HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  // SIGTERM: readiness answers 503 at once, the listener closes after
  // SHUTDOWN_DRAIN_MS, and requests in flight get until SHUTDOWN_GRACE_MS
  // after the signal before their connections are cut.
  SHUTDOWN_DRAIN_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 5_000 }),
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 1_000, maximum: 600_000, default: 25_000 }),

  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  DATABASE_POOL_MAX: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  DATABASE_STATEMENT_TIMEOUT_MS: Milliseconds(10_000),

  // Required unless RATE_LIMIT_STORE=memory (checked below, with the other rules).
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REDIS_KEY_PREFIX: Type.String({ pattern: '^[A-Za-z0-9:_.-]{0,64}$', default: 'chat-attachments:' }),
  // Longest wait for Redis per request before the rate limit fails open.
  REDIS_TIMEOUT_MS: Type.Integer({ minimum: 10, maximum: 5_000, default: 250 }),

  ...S3_PROPERTIES,

  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  JWT_PUBLIC_KEY: Type.Optional(Type.String({ minLength: 1 })),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),

  JWT_COOKIE_NAME: Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]{1,64}$', default: 'chat_token' }),
  QUERY_TOKEN_MAX_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 600 }),
  // A browser token may expire at most this far ahead of now.
  TOKEN_MAX_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 31_536_000, default: 86_400 }),
  // Tolerated clock difference with the token issuer: a link token's iat may
  // be at most this far in the future.
  TOKEN_CLOCK_SKEW_SECONDS: Type.Integer({ minimum: 0, maximum: 600, default: 60 }),

  // Appended to "private, " on every download.
  ATTACHMENT_CACHE_CONTROL: Type.String({ pattern: '^[A-Za-z0-9=, -]{1,200}$', default: 'no-cache' }),
  CORP_POLICY: Type.Enum(['same-site', 'same-origin', 'cross-origin'], { default: 'same-site' }),
  // redis: one budget shared by every instance. memory: each process counts
  // on its own (a single instance, or a laptop without Redis).
  RATE_LIMIT_STORE: Type.Enum(['redis', 'memory'], { default: 'redis' }),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 600 }),
  RATE_LIMIT_WINDOW_MS: Type.Integer({ minimum: 1_000, default: 60_000 }),
  // Each instance takes a key's budget from Redis in portions of
  // RATE_LIMIT_MAX / RATE_LIMIT_PORTIONS places (at least 1), so most
  // requests cost no Redis call; never more than RATE_LIMIT_MAX pass, and up
  // to a portion per instance may be refused early (http/rate-limit-budget.ts).
  RATE_LIMIT_PORTIONS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 64 }),
  // Comma list of proxy addresses or CIDRs whose X-Forwarded-For is believed.
  TRUST_PROXY: Type.Optional(Type.String({ minLength: 1 })),

  // Cleanup CronJob: staged uploads older than this are deleted (30m, 24h, 7d).
  CLEANUP_STALE_AFTER: Type.String({ pattern: '^[1-9][0-9]{0,5}[smhd]$', default: '24h' }),
  // Retention: the cleanup job deletes LINKED attachments older than this
  // many days (counted from the upload), unless their dialog's policy sets
  // its own retention or a legal hold. Unset: kept for ever.
  RETENTION_DAYS: Type.Optional(Type.Integer({ minimum: 1, maximum: 36_500 })),
  // Backfill: the main app's database holding the legacy JSON (default: DATABASE_URL).
  LEGACY_DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),

  ATTACHMENT_MAX_BYTES: Type.Integer({ minimum: 1, maximum: 5 * 1024 ** 4, default: 26_214_400 }),
  ATTACHMENT_ALLOWED_TYPES: Type.Optional(Type.String({ minLength: 1 })),
  // Uploads in flight per instance (each holds up to ~25 MiB); more get 503.
  UPLOAD_MAX_CONCURRENT: Type.Integer({ minimum: 1, maximum: 1_000, default: 8 }),
  // An upload must deliver at least this many bytes per second, judged over
  // each HTTP_REQUEST_TIMEOUT_MS window; a slower or stalled one is cut.
  UPLOAD_MIN_BYTES_PER_SECOND: Type.Integer({ minimum: 1, maximum: 100 * 1024 ** 2, default: 1_024 }),

  // Downloads streaming at once: per viewer (429 beyond), and per instance
  // (503 beyond), which must leave S3 sockets for uploads and readiness.
  DOWNLOAD_MAX_CONCURRENT_PER_USER: Type.Integer({ minimum: 1, maximum: 10_000, default: 16 }),
  DOWNLOAD_MAX_CONCURRENT: Type.Integer({ minimum: 1, maximum: 100_000, default: 160 }),
  // A download whose client has read nothing for this long is aborted.
  DOWNLOAD_STALL_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),

  // Malware gate: "clamd" streams every upload through clamd's INSTREAM and
  // refuses to store what it cannot scan. ATTACHMENT_MAX_BYTES must stay
  // below clamd's StreamMaxLength (see src/scan/clamd.ts).
  SCAN_MODE: Type.Enum(['off', 'clamd'], { default: 'off' }),
  CLAMD_HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  CLAMD_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3310 }),
  // A unix socket path; when set it is used instead of CLAMD_HOST/CLAMD_PORT.
  CLAMD_SOCKET: Type.Optional(Type.String({ pattern: '^/' })),
  // Longest total time one scan may spend waiting on clamd (connect, a full
  // socket buffer, the verdict); past it the scan fails and nothing is stored.
  SCAN_TIMEOUT_MS: Milliseconds(30_000),
  // strip-location: GPS data and device serial numbers are removed from the
  // stored original of JPEG, PNG, WebP and HEIF uploads (pixels untouched);
  // keep: originals are stored exactly as uploaded.
  ORIGINAL_METADATA: Type.Enum(['strip-location', 'keep'], { default: 'strip-location' }),

  // Read audit: every 200/206 of an original or a preview is recorded, in
  // batches of at most one write per AUDIT_FLUSH_MS; at most AUDIT_BUFFER_MAX
  // events wait in memory (older ones are dropped, counted and logged, while
  // Postgres is down). Client addresses are stored as an HMAC with
  // AUDIT_IP_SALT, or not at all when it is unset.
  AUDIT_ENABLED: Type.Boolean({ default: true }),
  AUDIT_FLUSH_MS: Type.Integer({ minimum: 50, maximum: 3_600_000, default: 1_000 }),
  AUDIT_BUFFER_MAX: Type.Integer({ minimum: 100, maximum: 1_000_000, default: 50_000 }),
  AUDIT_IP_SALT: Type.Optional(Type.String({ minLength: 16 })),
  // Token revocations reach every instance within REVOCATION_POLL_MS; when
  // the list could not be refreshed for REVOCATION_MAX_STALENESS_MS, requests
  // a revocation could refuse get 503 instead of being served.
  REVOCATION_POLL_MS: Type.Integer({ minimum: 50, maximum: 10_000, default: 250 }),
  REVOCATION_MAX_STALENESS_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 1_000 }),
  // Rows read by browsers are kept in memory (src/db/row-cache.ts) and
  // dropped when Postgres notifies a change; when that feed has not been
  // confirmed for ROW_CACHE_MAX_STALENESS_MS, the cache is bypassed.
  // ROW_CACHE_MAX_ENTRIES=0 turns it off (every read asks Postgres).
  ROW_CACHE_MAX_ENTRIES: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 10_000 }),
  ROW_CACHE_MAX_STALENESS_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 1_000 }),
  // Bodies up to 64 KiB (small images, previews) of cached rows are kept with
  // their row, up to this many bytes in all; 0 keeps none.
  BODY_CACHE_MAX_BYTES: Type.Integer({ minimum: 0, maximum: 4 * 1024 ** 3, default: 16 * 1024 ** 2 }),
  // The cleanup job prunes access events older than this (30m, 24h, 400d).
  AUDIT_RETENTION: Type.String({ pattern: '^[1-9][0-9]{0,5}[smhd]$', default: '400d' }),

  // Image previews (src/images). Sizes are the long edges a preview fits in;
  // parsed and checked by previewSizes().
  PREVIEW_SIZES: Type.String({ minLength: 1, default: '320,1280' }),
  PREVIEW_MAX_FRAMES: Type.Integer({ minimum: 1, maximum: 1_000, default: 100 }),
  // 268,402,689 is sharp's own ceiling (16383 x 16383).
  IMAGE_MAX_PIXELS: Type.Integer({ minimum: 1, maximum: 268_402_689, default: 50_000_000 }),
  // 0: one per CPU (os.availableParallelism()).
  PREVIEW_CONCURRENCY: Type.Integer({ minimum: 0, maximum: 256, default: 0 }),
  PREVIEW_QUEUE_MAX: Type.Integer({ minimum: 0, maximum: 100_000, default: 100 }),
  PREVIEW_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 20_000 }),
  PREVIEW_WAIT_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 10_000 })
})

export type Config = Static<typeof ConfigSchema>

// The settings each client factory reads, written once: the server passes
// the whole config, a CLI loads just these (plus its own).
export const DATABASE_SETTINGS = ['DATABASE_URL', 'DATABASE_POOL_MAX', 'DATABASE_STATEMENT_TIMEOUT_MS'] as const
export const S3_SETTINGS = namesOf(S3_PROPERTIES)
export const SCAN_SETTINGS = ['SCAN_MODE', 'CLAMD_HOST', 'CLAMD_PORT', 'CLAMD_SOCKET', 'SCAN_TIMEOUT_MS'] as const
export const IMAGE_SETTINGS = [
  'PREVIEW_SIZES', 'PREVIEW_MAX_FRAMES', 'IMAGE_MAX_PIXELS', 'ATTACHMENT_MAX_BYTES', 'PREVIEW_CONCURRENCY', 'PREVIEW_QUEUE_MAX',
  'PREVIEW_TIMEOUT_MS', 'PREVIEW_WAIT_MS'
] as const
/** The property names of a group of settings (a type guard rather than a cast of Object.keys). */
function namesOf<T extends object> (properties: T): ReadonlyArray<Extract<keyof T, string>> {
  return Object.keys(properties).filter((name): name is Extract<keyof T, string> => Object.hasOwn(properties, name))
}
export type DatabaseConfig = Pick<Config, typeof DATABASE_SETTINGS[number]>
export type S3Config = Pick<Config, typeof S3_SETTINGS[number]>
export type ConfigInput = Record<string, string | undefined>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Validates the environment against the schema and the rules a schema cannot
 * express. Throws a ConfigError whose message is a single line naming every
 * variable that is wrong. A CLI that needs only some variables passes their
 * names and is not stopped by the others.
 */
export function loadConfig (env: ConfigInput): Config
export function loadConfig<K extends keyof Config> (env: ConfigInput, only: readonly K[]): Pick<Config, K>
export function loadConfig (env: ConfigInput, only?: ReadonlyArray<keyof Config>): Partial<Config> {
  // An empty value (`S3_ENDPOINT=` in an .env file) means "not set".
  const data = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''))
  const schema = structuredClone(only ? Type.Pick(ConfigSchema, only) : ConfigSchema)
  const problems: string[] = []
  let config: Partial<Config> = {}
  try {
    config = envSchema<Partial<Config>>({ schema, data, env: false, dotenv: false })
  } catch (err) {
    const errors = fieldOf(err, 'errors')
    if (!Array.isArray(errors)) throw err
    problems.push(...errors.map(describeAjvError))
  }

  // Rules across variables, checked on the raw values so that one line
  // reports everything that is wrong.
  const wanted = (key: keyof Config) => !only || only.includes(key)
  const raw = data as Partial<Record<keyof Config, string>>
  if (wanted('JWT_SECRET') || wanted('JWT_PUBLIC_KEY')) {
    if (raw.JWT_SECRET === undefined && raw.JWT_PUBLIC_KEY === undefined) {
      problems.push('JWT_SECRET or JWT_PUBLIC_KEY is required (exactly one)')
    } else if (raw.JWT_SECRET !== undefined && raw.JWT_PUBLIC_KEY !== undefined) {
      problems.push('JWT_SECRET and JWT_PUBLIC_KEY are both set; set exactly one')
    } else if (raw.JWT_PUBLIC_KEY !== undefined) {
      try {
        jwtVerification({ JWT_PUBLIC_KEY: raw.JWT_PUBLIC_KEY })
      } catch (err) {
        problems.push(`JWT_PUBLIC_KEY ${(err as Error).message}`)
      }
    }
  }
  if (wanted('REDIS_URL') && raw.REDIS_URL === undefined && (raw.RATE_LIMIT_STORE ?? 'redis') === 'redis') {
    problems.push('REDIS_URL is required')
  }
  if (wanted('S3_ACCESS_KEY_ID') && (raw.S3_ACCESS_KEY_ID === undefined) !== (raw.S3_SECRET_ACCESS_KEY === undefined)) {
    problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together')
  }
  if (wanted('TRUST_PROXY') && raw.TRUST_PROXY !== undefined) {
    const bad = raw.TRUST_PROXY.split(',').map((item) => item.trim()).filter((item) => !isAddressOrCidr(item))
    if (bad.length > 0) problems.push(`TRUST_PROXY has invalid entries (${bad.map((b) => JSON.stringify(b)).join(', ')}); use IP addresses or CIDRs`)
  }
  if (wanted('ATTACHMENT_ALLOWED_TYPES') && raw.ATTACHMENT_ALLOWED_TYPES !== undefined) {
    const bad = raw.ATTACHMENT_ALLOWED_TYPES.split(',').map((item) => item.trim()).filter((item) => !MEDIA_RANGE.test(item.toLowerCase()))
    if (bad.length > 0) problems.push(`ATTACHMENT_ALLOWED_TYPES has invalid entries (${bad.map((b) => JSON.stringify(b)).join(', ')}); use "type/subtype" or "type/*"`)
  }
  if (wanted('DOWNLOAD_MAX_CONCURRENT') && wanted('S3_MAX_SOCKETS') && config.DOWNLOAD_MAX_CONCURRENT !== undefined &&
    config.S3_MAX_SOCKETS !== undefined && config.DOWNLOAD_MAX_CONCURRENT >= config.S3_MAX_SOCKETS) {
    problems.push(`DOWNLOAD_MAX_CONCURRENT (${config.DOWNLOAD_MAX_CONCURRENT}) must be below S3_MAX_SOCKETS (${config.S3_MAX_SOCKETS}), so uploads and readiness always find a socket`)
  }
  if (wanted('METRICS_PORT') && wanted('PORT') && config.METRICS_PORT !== 0 && config.METRICS_PORT === config.PORT) {
    problems.push('METRICS_PORT must differ from PORT: metrics are never served on the public port')
  }
  if (wanted('SHUTDOWN_DRAIN_MS') && wanted('SHUTDOWN_GRACE_MS') && config.SHUTDOWN_DRAIN_MS !== undefined &&
    config.SHUTDOWN_GRACE_MS !== undefined && config.SHUTDOWN_DRAIN_MS >= config.SHUTDOWN_GRACE_MS) {
    problems.push('SHUTDOWN_DRAIN_MS must be below SHUTDOWN_GRACE_MS')
  }
  if (wanted('PREVIEW_SIZES') && raw.PREVIEW_SIZES !== undefined) {
    try {
      parsePreviewSizes(raw.PREVIEW_SIZES)
    } catch (err) {
      problems.push(`PREVIEW_SIZES ${(err as Error).message}`)
    }
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`)
  return config
}

const MEDIA_RANGE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$/

function isAddressOrCidr (item: string): boolean {
  const [address, bits, extra] = item.split('/')
  const version = isIP(address ?? '')
  if (version === 0 || extra !== undefined) return false
  if (bits === undefined) return true
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128)
}

/** Addresses and CIDRs of the proxies in front of the service; false: trust none. */
export function trustedProxies (config: Pick<Config, 'TRUST_PROXY'>): string[] | false {
  return config.TRUST_PROXY ? config.TRUST_PROXY.split(',').map((item) => item.trim()) : false
}

/** The allow-list as lower-case media ranges, or undefined when every type is allowed. */
export function allowedTypes (config: Pick<Config, 'ATTACHMENT_ALLOWED_TYPES'>): string[] | undefined {
  return config.ATTACHMENT_ALLOWED_TYPES?.split(',').map((item) => item.trim().toLowerCase())
}

/** Most sizes one attachment can have: each is a stored object per format. */
export const MAX_PREVIEW_SIZES = 8
/** Largest preview edge: a preview is decoded at this size in memory (4096² x 4 bytes = 64 MiB). */
export const MAX_PREVIEW_SIZE = 4096

/** PREVIEW_SIZES as sorted unique integers ("1280, 320,320" -> [320, 1280]). */
export function previewSizes (config: Pick<Config, 'PREVIEW_SIZES'>): number[] {
  return parsePreviewSizes(config.PREVIEW_SIZES)
}

function parsePreviewSizes (value: string): number[] {
  const items = value.split(',').map((item) => item.trim())
  const bad = items.filter((item) => !/^[1-9][0-9]{0,4}$/.test(item) || Number(item) < 16 || Number(item) > MAX_PREVIEW_SIZE)
  if (bad.length > 0) throw new Error(`has invalid entries (${bad.map((b) => JSON.stringify(b)).join(', ')}); use integers from 16 to ${MAX_PREVIEW_SIZE}`)
  const sizes = [...new Set(items.map(Number))].sort((a, b) => a - b)
  if (sizes.length > MAX_PREVIEW_SIZES) throw new Error(`lists ${sizes.length} sizes; at most ${MAX_PREVIEW_SIZES}`)
  return sizes
}

/** PREVIEW_CONCURRENCY, with 0 meaning one job per CPU. */
export function previewConcurrency (config: Pick<Config, 'PREVIEW_CONCURRENCY'>): number {
  return config.PREVIEW_CONCURRENCY > 0 ? config.PREVIEW_CONCURRENCY : availableParallelism()
}

export interface JwtVerification {
  key: string
  algorithms: ['HS256'] | ['RS256'] | ['ES256']
}

/**
 * The verification key and the one algorithm it may verify. Pinning the
 * algorithm to the key type is what prevents algorithm-confusion attacks.
 */
export function jwtVerification (config: Pick<Partial<Config>, 'JWT_SECRET' | 'JWT_PUBLIC_KEY'>): JwtVerification {
  if (config.JWT_SECRET !== undefined) return { key: config.JWT_SECRET, algorithms: ['HS256'] }
  // Secrets managers and .env files often carry PEM with literal "\n".
  const pem = (config.JWT_PUBLIC_KEY ?? '').replaceAll('\\n', '\n').trim()
  let key
  try {
    key = createPublicKey(pem)
  } catch {
    throw new Error('is not a PEM public key')
  }
  if (key.asymmetricKeyType === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new Error('must be an RSA key of at least 2048 bits')
    return { key: pem, algorithms: ['RS256'] }
  }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return { key: pem, algorithms: ['ES256'] }
  }
  throw new Error('must be an RSA (RS256) or P-256 EC (ES256) public key')
}

interface AjvError {
  keyword: string
  instancePath: string
  message?: string
  params: Record<string, unknown>
}

function describeAjvError (error: AjvError): string {
  if (error.keyword === 'required') return `${String(error.params.missingProperty)} is required`
  const name = error.instancePath.replace(/^\//, '')
  if (error.keyword === 'enum') return `${name} must be one of: ${(error.params.allowedValues as string[]).join(', ')}`
  return `${name} ${error.message ?? 'is invalid'}`
}
