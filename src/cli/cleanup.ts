// Cleanup entrypoint for the Kubernetes CronJob: `node dist/cli/cleanup.js`.
// Prints progress on a terminal and, for every run that starts, one final
// JSON summary line (bad flags print the usage instead).
// Exit 0: done or skipped (another run holds the lock); 1: an item or the
// run failed; 2: bad flags or configuration.
import { parseArgs } from 'node:util'
import { ConfigError, DATABASE_SETTINGS, loadConfig, S3_SETTINGS, type DatabaseConfig, type S3Config } from '../config.js'
import { createDatabase } from '../db/client.js'
import { runCleanup, type CleanupSummary } from '../jobs/cleanup.js'
import { parseDuration } from '../jobs/duration.js'
import { writeJobMetrics } from '../metrics/textfile.js'
import { createS3Storage } from '../storage/s3.js'
import { stringField } from '../fields.js'

const USAGE = `Usage: cleanup [options]
Deletes staged uploads older than --older-than and attachments past their
retention (RETENTION_DAYS or the dialog's policy); never in a dialog under
legal hold.
  --older-than <age>   staged uploads (and orphans) older than this: 30m, 24h, 7d
                       (default: CLEANUP_STALE_AFTER, 24h)
  --orphans            also delete objects under S3_KEY_PREFIX that have no row
                       (needs an age of at least 1h, so uploads in flight are safe)
  --dry-run            change nothing; report what would be deleted
  --batch-size <n>     rows or objects per batch (default 500, at most 1000)
  --max-items <n>      stop after this many rows plus orphans
  --metrics-file <path> also write the summary in the Prometheus text format
                       (node-exporter's textfile collector), replaced atomically
  --help               this text`

const ORPHAN_MIN_AGE_MS = 3_600_000

class UsageError extends Error {}

function positiveInteger (name: string, value: string | undefined, fallback: number | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return fallback
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw new UsageError(`--${name} must be an integer from 1 to ${max}`)
  return Number(value)
}

async function main (): Promise<number> {
  let values
  try {
    values = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      options: {
        'older-than': { type: 'string' },
        orphans: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        'batch-size': { type: 'string' },
        'max-items': { type: 'string' },
        'metrics-file': { type: 'string' },
        help: { type: 'boolean', default: false }
      }
    }).values
    if (values.help) {
      process.stdout.write(`${USAGE}\n`)
      return 0
    }
    const config = loadConfig(process.env, [...DATABASE_SETTINGS, ...S3_SETTINGS, 'CLEANUP_STALE_AFTER', 'AUDIT_RETENTION', 'RETENTION_DAYS'])
    const olderThanMs = parseDuration(values['older-than'] ?? config.CLEANUP_STALE_AFTER)
    if (olderThanMs === undefined) throw new UsageError('--older-than must look like 30m, 24h or 7d')
    if (values.orphans && olderThanMs < ORPHAN_MIN_AGE_MS) throw new UsageError('--orphans needs --older-than of at least 1h')
    const batchSize = positiveInteger('batch-size', values['batch-size'], 500, 1000)!
    const maxItems = positiveInteger('max-items', values['max-items'], undefined)
    const auditRetentionMs = parseDuration(config.AUDIT_RETENTION)!
    const options = {
      olderThanMs, batchSize, ...(maxItems ? { maxItems } : {}), dryRun: values['dry-run'], orphans: values.orphans, auditRetentionMs, retentionDays: config.RETENTION_DAYS
    }
    return await run(config, options, values['metrics-file'])
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      return 2
    }
    if (err instanceof UsageError || stringField(err, 'code')?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`)
      return 2
    }
    throw err
  }
}

async function run (config: S3Config & DatabaseConfig,
  options: { olderThanMs: number, batchSize: number, maxItems?: number, dryRun: boolean, orphans: boolean, auditRetentionMs: number, retentionDays: number | undefined },
  metricsFile: string | undefined): Promise<number> {
  const database = createDatabase(config, { max: 2, applicationName: 'chat-attachments:cleanup' })
  const storage = createS3Storage(config)
  let summary: CleanupSummary
  try {
    summary = await runCleanup({ database, databaseUrl: config.DATABASE_URL, storage, keyPrefix: config.S3_KEY_PREFIX }, {
      ...options,
      onProgress: process.stderr.isTTY ? ({ phase, handled }) => process.stderr.write(`cleanup: ${phase}: ${handled} handled\n`) : undefined
    })
  } finally {
    await database.close()
    storage.destroy()
  }
  if (summary.alreadyRunning) process.stderr.write('cleanup skipped: another run holds the lock\n')
  if (summary.error) process.stderr.write(`cleanup failed: ${summary.error}\n`)
  process.stdout.write(`${JSON.stringify(summary)}\n`)
  const failed = summary.failed > 0 || summary.error !== undefined
  if (metricsFile) {
    try {
      await writeJobMetrics(metricsFile, 'cleanup', { summary, succeeded: !failed && !summary.alreadyRunning, skipped: summary.alreadyRunning === true })
    } catch (err) {
      process.stderr.write(`cleanup: cannot write ${metricsFile}: ${(err as Error).message}\n`)
      return 1
    }
  }
  return failed ? 1 : 0
}

process.exitCode = await main()
