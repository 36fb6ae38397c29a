// `npm run db:migrate | cleanup | backfill -- [flags]` in a checkout: runs
// the CLI (src/cli/<name>.ts) with the settings of `npm run dev`: the
// environment, then .env, then the development defaults. For an unset
// DATABASE_URL or S3_ENDPOINT it uses the embedded Postgres and the local
// S3-protocol server of a running `npm run dev`, or starts them for the run
// (on the same data) and stops them after; a fresh embedded database is
// migrated first. The CLI's output and exit code are passed through; what
// is used goes to stderr, so stdout keeps only the CLI's JSON summary.
// Production runs `node dist/cli/<name>.js` with its own settings.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { basename } from 'node:path'
import { startupHint } from './dev/hints.js'
import { LocalServices, type Needs } from './dev/services.js'
import { localSettings } from './dev/settings.js'

const NEEDS: Record<string, Needs> = {
  'migrate.ts': { database: true, s3: false },
  'cleanup.ts': { database: true, s3: true },
  'backfill.ts': { database: true, s3: true }
}

const [entry, ...args] = process.argv.slice(2)
if (!entry) {
  process.stderr.write('usage: local-run.ts src/cli/<name>.ts [flags]\n')
  process.exit(2)
}
const name = basename(entry, '.ts')
const settings = localSettings()
const services = new LocalServices(settings)
const running: { child?: ChildProcess } = {}

// A signal to this process alone reaches the CLI too; services stop after it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    const { child } = running
    if (child && child.exitCode === null) child.kill(signal)
    else services.stop().finally(() => process.exit(1))
  })
}
services.onUnexpectedExit = (message) => process.stderr.write(`${name}: ${message}\n`)

try {
  await services.start(NEEDS[basename(entry)] ?? { database: true, s3: true })
  for (const note of services.notes) process.stderr.write(`${name}: ${note.replace(/\s+/, ': ')}\n`)
  // Our own embedded cluster may be new: give it the schema first.
  if (services.embeddedDatabase && services.owner === undefined && name !== 'migrate') {
    const { runMigrations } = await import('../src/db/migrate.js')
    await runMigrations(services.env.DATABASE_URL!)
  }
} catch (err) {
  process.stderr.write(`${name}: ${startupHint(err, services.env)}\n`)
  await services.stop()
  process.exit(1)
}

running.child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { env: { ...process.env, ...services.env }, stdio: 'inherit' })
const [code, signal] = await once(running.child, 'exit') as [number | null, NodeJS.Signals | null]
await services.stop()
process.exitCode = code ?? (signal ? 1 : 0)
