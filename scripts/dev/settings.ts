// Settings of the local commands (`npm run dev` and the npm scripts of the
// CLIs): the environment first, then the .env file, then development
// defaults. Empty values count as unset at every layer, as in src/config.ts.
// Only these commands fill in defaults: `npm start` and the image never do.
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'

export type Env = Record<string, string | undefined>

/** What `npm run dev` uses for whatever neither the environment nor .env sets. */
export const DEV_DEFAULTS: Readonly<Record<string, string>> = {
  PORT: '3000',
  HOST: '127.0.0.1',
  S3_BUCKET: 'chat-attachments-dev',
  S3_REGION: 'us-east-1',
  // The development key: tokens signed with it are printed at start and
  // minted by `npm run token`. Never use it anywhere else.
  JWT_SECRET: 'development-only-secret-change-me-0123456789',
  // A front end on another port must be able to show the images. Chromium
  // never counts two ports of 127.0.0.1 as one site, so same-site (the
  // production default) would blank them there (NotSameSite).
  CORP_POLICY: 'cross-origin',
  // Several instances may run side by side: metrics on a free port of the
  // loopback, whose address the service logs at start ("metrics listening").
  METRICS_PORT: '0',
  METRICS_HOST: '127.0.0.1',
  // The read audit hashes client addresses with it (development only).
  AUDIT_IP_SALT: 'development-only-audit-salt'
}

/** The embedded Postgres' superuser and the service's database in it. */
export const EMBEDDED_POSTGRES = { user: 'postgres', password: 'postgres', database: 'chat_attachments' } as const

/** The local S3-protocol server's fixed credentials and addressing. */
export const LOCAL_S3: Readonly<Record<string, string>> = {
  S3_FORCE_PATH_STYLE: 'true',
  S3_ACCESS_KEY_ID: 'S3RVER',
  S3_SECRET_ACCESS_KEY: 'S3RVER'
}

const set = (env: Env): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''))

/** The .env file (DEV_ENV_FILE, default .env), or nothing when it does not exist. */
export function readEnvFile (env: Env = process.env): Record<string, string> {
  const path = resolve(env.DEV_ENV_FILE || '.env')
  return existsSync(path) ? set(parseEnv(readFileSync(path, 'utf8'))) : {}
}

export interface LocalSettings {
  /** The environment the service or CLI runs with (DATABASE_URL and S3_ENDPOINT may still be unset). */
  env: Record<string, string>
  /** Where the embedded Postgres and the local S3-protocol server keep their data. */
  dataDir: string
}

/** The environment, over .env, over the development defaults. */
export function localSettings (processEnv: Env = process.env): LocalSettings {
  const env = { ...DEV_DEFAULTS, ...readEnvFile(processEnv), ...set(processEnv) }
  // Without Redis the rate limit counts in this process (the service logs so).
  if (env.REDIS_URL === undefined) env.RATE_LIMIT_STORE ??= 'memory'
  // Node 20: the SDK's notice that its releases after January 2027 need
  // Node 22, documented as silenced by this variable (aws-sdk-js-v3#7983).
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  return { env, dataDir: resolve(env.DEV_DATA_DIR ?? '.dev') }
}
