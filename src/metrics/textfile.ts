// The CLIs' metrics: one file in the Prometheus text format, written when a
// run ends, for node-exporter's textfile collector (which reads every
// *.prom file of a directory at each scrape). Written to a temporary file
// and renamed, so the collector never reads half a file. A failed or skipped
// run keeps the last success time of the file it replaces: an alert on
// "no success for two days" must not be reset by a failing run.
import { readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { Gauge, Registry } from 'prom-client'
import { PREFIX } from './metrics.js'

export type JobName = 'cleanup' | 'backfill'

export interface JobOutcome {
  /** Every numeric field becomes a gauge: `bytesFreed` -> chat_attachments_cleanup_bytes_freed. */
  summary: object
  /** The run did its work (not skipped, no failed item, no error). */
  succeeded: boolean
  /** Another run held the lock. */
  skipped: boolean
  now?: Date
}

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

export async function jobMetricsText (job: JobName, outcome: JobOutcome, previousText = ''): Promise<string> {
  const registry = new Registry()
  const name = `${PREFIX}${job}_`
  const gauge = (metric: string, help: string, value: number) => {
    new Gauge({ name: name + metric, help, registers: [registry] }).set(value)
  }
  const nowSeconds = Math.floor((outcome.now ?? new Date()).getTime() / 1000)
  for (const [key, value] of Object.entries(outcome.summary)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) continue
    if (key === 'durationMs') gauge('duration_seconds', `How long the last ${job} run took`, value / 1000)
    else gauge(snake(key), `${key} of the last ${job} run (its JSON summary)`, value)
  }
  gauge('last_run_timestamp_seconds', `When the last ${job} run ended (Unix time)`, nowSeconds)
  gauge('last_run_success', `1 when the last ${job} run did its work without a failure`, outcome.succeeded ? 1 : 0)
  gauge('last_run_skipped', `1 when the last ${job} run was skipped: another run held the lock`, outcome.skipped ? 1 : 0)
  const previous = new RegExp(`^${name}last_success_timestamp_seconds (\\d+)`, 'm').exec(previousText)?.[1]
  const lastSuccess = outcome.succeeded ? nowSeconds : previous === undefined ? undefined : Number(previous)
  if (lastSuccess !== undefined) gauge('last_success_timestamp_seconds', `When a ${job} run last succeeded (Unix time)`, lastSuccess)
  return registry.metrics()
}

/** Writes the job's metrics to `path` atomically; throws when it cannot. */
export async function writeJobMetrics (path: string, job: JobName, outcome: JobOutcome): Promise<void> {
  const previous = await readFile(path, 'utf8').catch(() => '')
  const temporary = `${path}.${process.pid}.tmp`
  try {
    await writeFile(temporary, await jobMetricsText(job, outcome, previous))
    await rename(temporary, path)
  } catch (err) {
    await unlink(temporary).catch(() => {})
    throw err
  }
}
