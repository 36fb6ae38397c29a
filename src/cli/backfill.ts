// Backfill entrypoint: `node dist/cli/backfill.js [flags]`. Imports legacy
// attachments from LEGACY_DATABASE_URL (default DATABASE_URL). Prints
// progress on a terminal and, for every run that starts, one final JSON
// summary line (bad flags print the usage instead).
// Exit 0: done or skipped (another run holds the lock); 1: an item or the
// run failed; 2: bad flags, configuration or legacy table/column names.
import { createWriteStream } from 'node:fs'
import { rename, unlink } from 'node:fs/promises'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { ConfigError, DATABASE_SETTINGS, IMAGE_SETTINGS, loadConfig, previewSizes, S3_SETTINGS, SCAN_SETTINGS } from '../config.js'
import { createPreviewRepository } from '../db/previews.js'
import { createPreviewService } from '../domain/previews.js'
import { createImageEngine, imageEngineOptions } from '../images/index.js'
import { createScanner } from '../scan/scanner.js'
import { createDatabase } from '../db/client.js'
import { runBackfill } from '../jobs/backfill.js'
import { DEFAULT_LEGACY_SCHEMA, LegacySchemaError, type LegacySchema } from '../jobs/legacy-source.js'
import { writeJobMetrics } from '../metrics/textfile.js'
import { createS3Storage } from '../storage/s3.js'
import { stringField } from '../fields.js'

const SCHEMA_FLAGS: Record<string, keyof LegacySchema> = {
  'messages-table': 'messagesTable',
  'dialogs-table': 'dialogsTable',
  'message-id-column': 'messageId',
  'message-dialog-column': 'messageDialogId',
  'message-created-column': 'messageCreatedAt',
  'attachments-column': 'attachments',
  'dialog-id-column': 'dialogId',
  'dialog-owner-column': 'dialogOwner'
}

const USAGE = `Usage: backfill [options]
  --after <id>            resume after this message id (the summary's lastCursor)
  --batch-size <n>        messages per batch (default 200)
  --concurrency <n>       objects hashed at once (default 4)
  --dry-run               write nothing; report what would be imported
  --scan                  scan every object with clamd (CLAMD_HOST/CLAMD_PORT or
                          CLAMD_SOCKET) while hashing it; infected ones are skipped
  --mapping-file <path>   NDJSON {legacyId,id,messageId,dialogId,storageKey} per
                          imported (or already imported) attachment; overwritten
  --report-file <path>    NDJSON {messageId,index,reason,path,detail} per skipped entry
  --metrics-file <path>   also write the summary in the Prometheus text format
                          (node-exporter's textfile collector), replaced atomically
${Object.entries(SCHEMA_FLAGS).map(([flag, key]) => `  --${flag} <name>`.padEnd(26) + `default "${DEFAULT_LEGACY_SCHEMA[key]}"`).join('\n')}
  --help                  this text`

class UsageError extends Error {}

function count (name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw new UsageError(`--${name} must be an integer from 1 to ${max}`)
  return Number(value)
}

interface Ndjson {
  write: (line: object) => void
  /** Moves the file into place (keep) or removes it; throws a write error. */
  finish: (keep: boolean) => Promise<void>
}

/**
 * An NDJSON output written to a temporary file and renamed into place at the
 * end, by a run that held the lock only: a run that skips never touches the
 * file of the run that works. An unwritable path is a usage error.
 */
async function ndjson (path: string | undefined): Promise<Ndjson> {
  if (!path) return { write: () => {}, finish: async () => {} }
  const temporary = `${path}.${process.pid}.tmp`
  const stream = createWriteStream(temporary)
  let failure: Error | undefined
  stream.on('error', (err) => { failure ??= err })
  try {
    await once(stream, 'open')
  } catch (err) {
    throw new UsageError(`cannot write ${path}: ${(err as Error).message}`)
  }
  return {
    write: (line) => { if (!failure) stream.write(`${JSON.stringify(line)}\n`) },
    finish: async (keep) => {
      if (!stream.closed) {
        stream.end()
        await once(stream, 'close').catch(() => {})
      }
      if (failure || !keep) await unlink(temporary).catch(() => {})
      if (failure) throw new Error(`writing ${path} failed: ${failure.message}`)
      if (keep) await rename(temporary, path)
    }
  }
}

async function main (): Promise<number> {
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      strict: true,
      options: {
        after: { type: 'string' },
        'batch-size': { type: 'string' },
        concurrency: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        scan: { type: 'boolean', default: false },
        'mapping-file': { type: 'string' },
        'report-file': { type: 'string' },
        'metrics-file': { type: 'string' },
        help: { type: 'boolean', default: false },
        ...Object.fromEntries(Object.keys(SCHEMA_FLAGS).map((flag) => [flag, { type: 'string' as const }]))
      }
    })
    if (values.help) {
      process.stdout.write(`${USAGE}\n`)
      return 0
    }
    const schema = { ...DEFAULT_LEGACY_SCHEMA }
    for (const [flag, key] of Object.entries(SCHEMA_FLAGS)) {
      const value = (values as Record<string, unknown>)[flag]
      if (typeof value === 'string') {
        if (!/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/.test(value)) throw new UsageError(`--${flag} must be an identifier`)
        schema[key] = value
      }
    }
    const config = loadConfig(process.env, [...DATABASE_SETTINGS, ...S3_SETTINGS, 'LEGACY_DATABASE_URL', ...SCAN_SETTINGS, ...IMAGE_SETTINGS])
    const options = {
      schema,
      batchSize: count('batch-size', values['batch-size'] as string | undefined, 200, 10_000),
      concurrency: count('concurrency', values.concurrency as string | undefined, 4, 64),
      dryRun: values['dry-run'] as boolean,
      ...(typeof values.after === 'string' ? { after: values.after } : {})
    }
    const mapping = await ndjson(options.dryRun ? undefined : values['mapping-file'] as string | undefined)
    const report = await ndjson(values['report-file'] as string | undefined)
    // Room for the image pool's generations, each in its lock's transaction.
    const database = createDatabase(config, { max: 4, applicationName: 'chat-attachments:backfill' })
    const legacy = config.LEGACY_DATABASE_URL ? postgres(config.LEGACY_DATABASE_URL, { max: 2, onnotice: () => {} }) : database.sql
    const storage = createS3Storage(config)
    // --scan uses clamd whatever SCAN_MODE says: the flag is the operator's choice for this run.
    const scanner = values.scan ? createScanner({ ...config, SCAN_MODE: 'clamd' }) : undefined
    // Imported images get their previews like uploaded ones, in the same bounded pool.
    const engine = createImageEngine(imageEngineOptions(config))
    const previews = createPreviewService({
      previews: createPreviewRepository(database.db),
      storage,
      images: engine,
      log: { warn: (details: unknown, message?: string) => { process.stderr.write(`${JSON.stringify({ message, details })}\n`) } },
      sizes: previewSizes(config),
      lockWaitMs: config.PREVIEW_WAIT_MS
    })
    let held = false
    try {
      const images = { maxPixels: config.IMAGE_MAX_PIXELS, previews: options.dryRun ? undefined : previews }
      const summary = await runBackfill({ legacy, database, databaseUrl: config.DATABASE_URL, storage, scanner, images }, {
        ...options,
        onMapping: mapping.write,
        onReport: report.write,
        onProgress: process.stderr.isTTY ? (s) => process.stderr.write(`backfill: ${s.messagesScanned} messages, ${s.imported} imported, cursor ${s.lastCursor}\n`) : undefined
      })
      held = !summary.alreadyRunning
      // Lines written so far stand even when the run stopped early: their rows exist.
      const written = await Promise.all([mapping.finish(held), report.finish(held)]).then(() => undefined, (err: Error) => err.message)
      if (written) summary.error ??= written
      if (summary.alreadyRunning) process.stderr.write('backfill skipped: another run holds the lock\n')
      if (summary.error) process.stderr.write(`backfill stopped: ${summary.error}\n`)
      process.stdout.write(`${JSON.stringify(summary)}\n`)
      const failed = summary.failed > 0 || summary.error !== undefined
      const metricsFile = values['metrics-file'] as string | undefined
      if (metricsFile) {
        const outcome = { summary, succeeded: !failed && !summary.alreadyRunning, skipped: summary.alreadyRunning === true }
        const written = await writeJobMetrics(metricsFile, 'backfill', outcome).then(() => true, (err: Error) => {
          process.stderr.write(`backfill: cannot write ${metricsFile}: ${err.message}\n`)
          return false
        })
        if (!written) return 1
      }
      return failed ? 1 : 0
    } finally {
      if (!held) await Promise.all([mapping.finish(false), report.finish(false)]).catch(() => {})
      await engine.close()
      await previews.close()
      if (legacy !== database.sql) await legacy.end({ timeout: 5 })
      await database.close()
      storage.destroy()
      await scanner?.close()
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      return 2
    }
    if (err instanceof UsageError || err instanceof LegacySchemaError || stringField(err, 'code')?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`)
      return 2
    }
    throw err
  }
}

process.exitCode = await main()
