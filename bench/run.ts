// Hot-path benchmark: `npm run bench` (bench/README.md).
//
// Builds the service (`npm run build`) and measures `node dist/server.js`,
// pinned to one core, through its public HTTP API only, next to baselines
// on the same core in the same run: a Fastify hello, the naive SDK proxy,
// the same objects straight from nginx, a direct lib-storage upload. It
// prints the goals table of issue 10 (bench/rows/), every run with the CPU of
// each process from /proc, and one JSON line. Progress goes to stderr.
// Everything it creates is removed at the end, also on failure or Ctrl-C.
import { resolve } from 'node:path'
import { ROWS } from './rows/index.js'
import type { Knobs, RowResult } from './rows/row.js'
import { Cleanup, summariseLog } from './lib/infra.js'
import { dropResponseBodies } from './lib/load.js'
import { findProblems, formatReport, reportJson, type Report } from './lib/report.js'
import { buildService } from './lib/servers.js'
import { verifyAnswers } from './lib/verify.js'
import { createWorld } from './lib/world.js'

function knob (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`)
  return value
}

const knobs: Knobs = {
  durationS: knob('BENCH_DURATION_S', 10),
  warmupS: knob('BENCH_WARMUP_S', 3),
  slices: Math.round(knob('BENCH_SLICES', 4)),
  connections: Math.round(knob('BENCH_CONNECTIONS', 32)),
  largeConnections: Math.round(knob('BENCH_LARGE_CONNECTIONS', 4)),
  slowClients: Math.round(knob('BENCH_SLOW_CLIENTS', 20)),
  slowSeconds: knob('BENCH_SLOW_S', 10),
  slowMBps: knob('BENCH_SLOW_MBPS', 1.5),
  uploadRounds: Math.round(knob('BENCH_UPLOAD_ROUNDS', 3)),
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn',
  skipBuild: process.env.BENCH_SKIP_BUILD === '1',
  ...(process.env.BENCH_CPU_PROF_DIR ? { cpuProfileDir: process.env.BENCH_CPU_PROF_DIR } : {}),
  // Experiments with the service process (e.g. "--trace-gc"): arguments
  // before dist/server.js, and where its output stays after the run.
  nodeArgs: (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
  ...(process.env.BENCH_SERVICE_LOG ? { serviceLog: resolve(process.env.BENCH_SERVICE_LOG) } : {})
}
// BENCH_ROWS: only the rows whose path contains one of these (comma-separated), e.g. "304,20 KiB".
const rowFilter = (process.env.BENCH_ROWS ?? '').split(',').map((part) => part.trim().toLowerCase()).filter(Boolean)
const selectedRows = ROWS.filter((row) => rowFilter.length === 0 || rowFilter.some((part) => row.path.toLowerCase().includes(part)))
const urls = {
  database: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
}

const started = performance.now()
const note = (message: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`)

async function main (cleanup: Cleanup): Promise<Report> {
  const startedAt = new Date().toISOString()
  let build = 'dist/ as found (BENCH_SKIP_BUILD=1)'
  if (!knobs.skipBuild) {
    note('building: npm run build (tsc -p tsconfig.build.json), to measure dist/ as production runs it')
    const built = await buildService()
    build = `built from ${built.revision} in ${built.seconds.toFixed(0)} s`
  }
  const bodiesDropped = dropResponseBodies()
  const world = await createWorld(knobs, urls, cleanup, note)
  note('checking every answer: bodies, a range and a conditional GET from the service, nginx and the proxy')
  const conditional = await verifyAnswers(world)

  // Rate-limit keys expire with their window, so they are counted after every row.
  const rows: RowResult[] = []
  let redisRateLimitKeys = 0
  for (const row of selectedRows) {
    note(`row: ${row.path}`)
    rows.push(await row.measure(world))
    redisRateLimitKeys = Math.max(redisRateLimitKeys, await world.countRedisKeys())
  }

  const log = await summariseLog(world.logFile)
  const problems = [...world.problems, ...findProblems(world.runs, log)]
  if (!bodiesDropped) problems.push('autocannon internals changed, response bodies are kept as strings: the 64 MiB figures are limited by the load generator')
  if (redisRateLimitKeys === 0) problems.push(`no rate-limit key under ${world.redisPrefix} in Redis after any row: the limiter did not reach Redis`)
  return {
    startedAt,
    node: process.version,
    cpus: world.cores.allowed,
    cores: world.cores.description,
    build,
    settings: knobs,
    rows,
    runs: world.runs,
    conditional,
    redisRateLimitKeys,
    serviceLog: { warn: log.warn, error: log.error },
    problems,
    totalSeconds: (performance.now() - started) / 1000
  }
}

const cleanup = new Cleanup()
let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true
    note(`${signal}: cleaning up`)
    cleanup.run().finally(() => process.exit(130))
  })
}

try {
  const report = await main(cleanup)
  process.stdout.write(`${formatReport(report)}\n${reportJson(report)}\n`)
} catch (err) {
  if (!interrupted) {
    process.stderr.write(`benchmark failed: ${(err as Error).stack ?? String(err)}\n`)
    process.exitCode = 1
  }
} finally {
  if (!interrupted) {
    note('cleaning up')
    const failures = await cleanup.run()
    for (const failure of failures) process.stderr.write(`cleanup failed: ${failure}\n`)
    if (failures.length > 0) process.exitCode = 1
  }
}
