// The cleanup job: stale staged uploads, attachments past their retention,
// and orphan objects.
//
// Protocol, safe against concurrent links and against being killed anywhere:
// 1. Only one run in the cluster: a Postgres advisory lock (else: skipped).
// 2. Rows an earlier run left in DELETING are finished first.
// 3. Stale rows are claimed in batches (UPLOADED -> DELETING, SKIP LOCKED);
//    from then on a link gets 409, never a row without its object.
// 4. The batch's objects are deleted (DeleteObjects), then the rows whose
//    objects are gone. Rows whose object could not be deleted stay DELETING
//    and are retried by the next run; they never return to UPLOADED, because
//    a failed request may still have deleted the object.
// 4b. Then LINKED rows past their retention (the dialog's retention_days, else
//    RETENTION_DAYS) are claimed and removed the same way. Dialogs under
//    legal hold are never claimed, by either step, nor swept for orphans.
//    Each deleted row leaves a tombstone (reason stale or retention).
// 5. With orphans: objects under the key prefix older than the threshold and
//    without a row are deleted. Newer objects are never touched, so uploads
//    in flight (object stored, row not yet written) are safe.
import type { Database } from '../db/client.js'
import { withAdvisoryLock } from '../db/advisory-lock.js'
import { createAccessLogRepository } from '../db/access-log.js'
import { createLifecycleRepository, type Claimed } from '../db/lifecycle.js'
import { createPolicyRepository } from '../db/policies.js'
import { removeClaimed } from '../domain/delete-attachments.js'
import { dialogOfKey } from '../storage/keys.js'
import type { ObjectInfo, ObjectStorage } from '../storage/storage.js'

const PRUNE_BATCH = 10_000

type Phase = 'recover' | 'stale' | 'retention' | 'orphans'

export interface CleanupOptions {
  /** Staged rows and orphan objects older than this are deleted. */
  olderThanMs: number
  dryRun: boolean
  orphans: boolean
  /** Global retention (RETENTION_DAYS); a dialog's policy overrides it. Unset: only policies expire rows. */
  retentionDays?: number | undefined
  /** Read-audit events older than this are pruned (not in a dry run). */
  auditRetentionMs?: number
  batchSize: number
  /** Upper bound on rows plus orphans handled in this run. */
  maxItems?: number
  now?: Date
  onProgress?: ((event: { phase: Phase, handled: number }) => void) | undefined
}

export interface CleanupDeps {
  database: Database
  databaseUrl: string
  storage: ObjectStorage
  keyPrefix: string
}

export interface CleanupSummary {
  dryRun: boolean
  /** Another run held the lock: nothing was done. */
  alreadyRunning?: true
  /** Why the run stopped early (Postgres or S3 unreachable); counts so far stand. */
  error?: string
  /** Staged rows (and rows left DELETING) claimed, and deleted. */
  staleFound: number
  deleted: number
  /** LINKED rows past their retention claimed, and deleted. */
  expiredFound: number
  expiredDeleted: number
  failed: number
  orphansFound: number
  orphansDeleted: number
  /** Read-audit events older than AUDIT_RETENTION that were deleted. */
  accessEventsPruned: number
  bytesFreed: number
  durationMs: number
}

export async function runCleanup (deps: CleanupDeps, options: CleanupOptions): Promise<CleanupSummary> {
  const started = Date.now()
  const summary: CleanupSummary = { dryRun: options.dryRun, staleFound: 0, deleted: 0, expiredFound: 0, expiredDeleted: 0, failed: 0, orphansFound: 0, orphansDeleted: 0, accessEventsPruned: 0, bytesFreed: 0, durationMs: 0 }
  try {
    const outcome = await withAdvisoryLock(deps.databaseUrl, 'cleanup', () => clean(deps, options, summary))
    if (!outcome.acquired) summary.alreadyRunning = true
  } catch (err) {
    summary.error = err instanceof Error ? err.message : String(err)
  }
  summary.durationMs = Date.now() - started
  return summary
}

async function clean (deps: CleanupDeps, options: CleanupOptions, summary: CleanupSummary): Promise<void> {
  const rows = createLifecycleRepository(deps.database.db)
  const policies = createPolicyRepository(deps.database.db)
  const now = options.now ?? new Date()
  const globalDays = options.retentionDays ?? null
  const cutoff = new Date(now.getTime() - options.olderThanMs)
  let budget = options.maxItems ?? Number.POSITIVE_INFINITY
  const batch = () => Math.min(options.batchSize, budget)
  const limit = () => (Number.isFinite(budget) ? budget : undefined)

  /** The deletion protocol on a claimed batch; false when storage failed it all. */
  async function removeBatch (claimed: Claimed[], phase: 'recover' | 'stale' | 'retention'): Promise<boolean> {
    const expiring = phase === 'retention'
    if (expiring) summary.expiredFound += claimed.length
    else summary.staleFound += claimed.length
    budget -= claimed.length
    const removal = await removeClaimed({ storage: deps.storage, lifecycle: rows }, claimed)
    if (expiring) summary.expiredDeleted += removal.removed
    else summary.deleted += removal.removed
    summary.bytesFreed += removal.bytesFreed
    summary.failed += removal.failed.length
    options.onProgress?.({ phase, handled: expiring ? summary.expiredFound : summary.staleFound })
    return removal.failed.length < claimed.length
  }

  /** Orphans of one page of listed objects: deleted, or only counted in a dry run. */
  async function removeOrphans (listed: ObjectInfo[]): Promise<void> {
    const referenced = await rows.keysWithRows(listed.map((object) => object.key))
    const held = await policies.held([...new Set(listed.map((object) => dialogOfKey(deps.keyPrefix, object.key)))])
    const orphans = listed.filter((object) => !referenced.has(object.key) && !held.has(dialogOfKey(deps.keyPrefix, object.key))).slice(0, batch())
    budget -= orphans.length
    summary.orphansFound += orphans.length
    if (options.dryRun) {
      summary.bytesFreed += sizeOf(orphans)
    } else if (orphans.length > 0) {
      const { deleted, failed } = await deps.storage.deleteMany(orphans.map((object) => object.key))
      const gone = new Set(deleted)
      summary.orphansDeleted += deleted.length
      summary.bytesFreed += sizeOf(orphans.filter((object) => gone.has(object.key)))
      summary.failed += failed.length
    }
    options.onProgress?.({ phase: 'orphans', handled: summary.orphansFound })
  }

  if (options.dryRun) {
    for (const what of ['claimed', { staleBefore: cutoff }] as const) {
      const { count, bytes } = await rows.measure(what, limit())
      summary.staleFound += count
      summary.bytesFreed += bytes
      budget -= count
    }
    const expiring = await rows.measure({ expiredAt: now, globalDays }, limit())
    summary.expiredFound += expiring.count
    summary.bytesFreed += expiring.bytes
    budget -= expiring.count
  } else {
    // Leftovers first; the id cursor moves past rows that fail again.
    for (let after: string | undefined; budget > 0;) {
      const leftovers = await rows.findClaimed(after, batch())
      if (leftovers.length === 0) break
      after = leftovers.at(-1)!.id
      if (!await removeBatch(leftovers, 'recover')) return
    }
    while (budget > 0) {
      const claimed = await rows.claimStale(cutoff, batch())
      if (claimed.length === 0) break
      // Storage is down: stop instead of claiming everything; the next run resumes.
      if (!await removeBatch(claimed, 'stale')) return
    }
    while (budget > 0) {
      const claimed = await rows.claimExpired(now, globalDays, batch())
      if (claimed.length === 0) break
      if (!await removeBatch(claimed, 'retention')) return
    }
  }

  if (options.auditRetentionMs !== undefined && !options.dryRun) {
    const accessLog = createAccessLogRepository(deps.database.db)
    const before = new Date(now.getTime() - options.auditRetentionMs)
    // In batches, so one run never holds a long delete on a big table.
    for (let pruned = PRUNE_BATCH; pruned === PRUNE_BATCH;) {
      pruned = await accessLog.prune(before, PRUNE_BATCH)
      summary.accessEventsPruned += pruned
    }
  }

  if (!options.orphans) return
  let page: ObjectInfo[] = []
  for await (const object of deps.storage.list({ prefix: deps.keyPrefix })) {
    if (budget <= 0) return
    if (object.lastModified >= cutoff) continue
    page.push(object)
    if (page.length >= options.batchSize) {
      await removeOrphans(page)
      page = []
    }
  }
  if (page.length > 0 && budget > 0) await removeOrphans(page)
}

function sizeOf (items: Array<{ sizeBytes: number } | { size: number }>): number {
  return items.reduce((sum, item) => sum + ('sizeBytes' in item ? item.sizeBytes : item.size), 0)
}
