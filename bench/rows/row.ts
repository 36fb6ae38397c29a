// One row of the goals table (issue 10): a path of the service measured next
// to a baseline in the same run, and the goals it is judged by. A row gets
// everything through the BenchContext (the running service and baselines,
// the seeded objects, the load generator) and returns figures; printing and
// judging are shared. To add a row, write bench/rows/<name>.ts exporting a
// BenchRow and list it in bench/rows/index.ts (see bench/README.md).
import type { CorePlan } from '../lib/cores.js'
import type { Child, Cleanup } from '../lib/infra.js'
import type { LoadCase, LoadFigures } from '../lib/load.js'
import type { RunningService } from '../lib/servers.js'

export interface Goal {
  op: '>=' | '<='
  bound: number
  unit: 'x' | 'µs' | 'CPU-s/GB' | 'MiB'
}

export interface GoalCheck {
  /** What is compared, e.g. "req/s, same core". */
  figure: string
  /** The service's figure, formatted. */
  service: string
  /** The baseline's figure in the same run, formatted; '' when there is none. */
  baseline: string
  /** Service relative to the baseline, oriented so that more is better. */
  ratio?: number
  /** The absolute figure a goal in µs, CPU-s/GB or MiB judges. */
  value?: number
  goal?: Goal
  /** Undefined when the check has no goal (a figure shown for context). */
  met?: boolean
}

export interface RowResult {
  path: string
  checks: GoalCheck[]
  /** Lines printed under the table for this row. */
  notes: string[]
  /** Raw figures for the JSON line (bytes, seconds, µs). */
  figures: Record<string, number>
}

export interface BenchRow {
  path: string
  measure: (ctx: BenchContext) => Promise<RowResult>
}

/** Sets `met` from the goal: a ratio for unit x, else the absolute value. NaN (not measured) is not met. */
export function judge (check: Omit<GoalCheck, 'met'>): GoalCheck {
  if (!check.goal) return { ...check }
  const { op, bound, unit } = check.goal
  const judged = (unit === 'x' ? check.ratio : check.value) ?? NaN
  return { ...check, met: op === '>=' ? judged >= bound : judged <= bound }
}

/** An object stored through the service's upload API, linked to a message. */
export interface BenchObject {
  id: string
  /** Its S3 key (the layout documented in the README: <S3_KEY_PREFIX><dialogId>/<attachmentId>). */
  key: string
  /** Browser path on the service, /v1/attachments/... */
  path: string
  bytes: number
  /** The service's ETag for it. */
  etag: string
  contentType: string
}

export interface ServiceOptions {
  /** Where the service reads and writes bytes: nginx (reads only) or s3rver. Default nginx. */
  origin?: 'nginx' | 's3rver'
  /** A new process even when one with the same settings runs. */
  fresh?: boolean
  /** Variables added to the service's environment (a feature switched on or off). */
  env?: Record<string, string>
}

/** Settings of a run (environment variables BENCH_*, see bench/README.md). */
export interface Knobs {
  durationS: number
  warmupS: number
  /** Turns of a service run and its baseline (BENCH_SLICES); durationS is split among them. */
  slices: number
  connections: number
  largeConnections: number
  slowClients: number
  slowSeconds: number
  slowMBps: number
  uploadRounds: number
  logLevel: string
  skipBuild: boolean
  /** BENCH_CPU_PROF_DIR: the service runs with --cpu-prof and writes its profiles here when it stops. */
  cpuProfileDir?: string
  /** BENCH_NODE_ARGS: node arguments of every service process, besides the image's NODE_OPTIONS (not the baselines'). */
  nodeArgs: string[]
  /** BENCH_SERVICE_LOG: the services' output goes to this file, kept after the run (default: the temp folder's). */
  serviceLog?: string
}

export interface BenchContext {
  knobs: Knobs
  cores: CorePlan
  note: (message: string) => void
  /** A 20 KiB PNG and a 64 MiB binary, the same for the service and every baseline. */
  objects: { small: BenchObject, large: BenchObject }
  /** The 64 MiB object's bytes on disk (for uploads). */
  largeFile: string
  dialogId: string
  ownerId: string
  /** Authorization header of a service token (attachments:write). */
  serviceAuth: Record<string, string>
  /** Authorization header of the owner's user token (downloads). */
  userAuth: Record<string, string>
  /** The service on the server core; started or restarted only when the options differ from the running one. */
  service: (options?: ServiceOptions) => Promise<RunningService>
  /**
   * Another service process beside the current one (its own port, same
   * database, Redis and core), for two settings measured in turns; the row
   * stops it when done (the cleanup would otherwise).
   */
  secondService: (options?: ServiceOptions) => Promise<RunningService & { stop: () => Promise<void> }>
  hello: Child & { baseUrl: string }
  proxy: Child & { baseUrl: string }
  /** Plain node:http relaying the origin's objects (bench/servers/bare-relay.mjs): what Node.js itself costs. */
  relay: Child & { baseUrl: string }
  nginx: Child & { endpoint: string, bucket: string }
  s3rver: Child & { endpoint: string, bucket: string }
  /**
   * What a run of the service watches: the service (`server`), its Postgres
   * backends, the Redis server (shared with other clients) and nginx
   * (`origin`), looked up after the warm-up.
   */
  watchService: (service: RunningService) => () => Promise<Record<string, number[]>>
  /** autocannon: a warm-up, then a measured run with CPU from /proc; recorded under `label` for the report. */
  load: (label: string, c: Omit<LoadCase, 'durationS' | 'warmupS'>) => Promise<LoadFigures>
  /**
   * The service and its baselines measured in turns (see measureTurns), each
   * recorded under its label: the ratios hold when the machine's speed
   * drifts during the run.
   */
  loadPair: (a: [string, Omit<LoadCase, 'durationS' | 'warmupS'>], b: [string, Omit<LoadCase, 'durationS' | 'warmupS'>]) => Promise<[LoadFigures, LoadFigures]>
  /** Three cases in turns, as loadPair. */
  loadTriple: (a: [string, Omit<LoadCase, 'durationS' | 'warmupS'>], b: [string, Omit<LoadCase, 'durationS' | 'warmupS'>], c: [string, Omit<LoadCase, 'durationS' | 'warmupS'>]) => Promise<[LoadFigures, LoadFigures, LoadFigures]>
  /** Any number of cases in turns, as loadPair; figures in the order given. */
  loadMany: (cases: Array<[string, Omit<LoadCase, 'durationS' | 'warmupS'>]>) => Promise<LoadFigures[]>
  /** Every measured run so far, by label. */
  runs: Record<string, LoadFigures>
  /** Findings that deserve a look (wrong answers, saturated load generator...). */
  problems: string[]
  workDir: string
  cleanup: Cleanup
}
