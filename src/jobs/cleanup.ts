// The cleanup job: stale staged uploads and orphan objects.
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
// 5. With orphans: objects under the key prefix older than the threshold and
//    without a row are deleted. Newer objects are never touched, so uploads
//    in flight (object stored, row not yet written) are safe.
import type { Database } from '../db/client.js'
import { withAdvisoryLock } from '../db/advisory-lock.js'
import { createLifecycleRepository, type Claimed } from '../db/lifecycle.js'
import { removeClaimed } from '../domain/delete-attachments.js'
import type { ObjectInfo, ObjectStorage } from '../storage/storage.js'

export interface CleanupOptions {
  /** Staged rows and orphan objects older than this are deleted. */
  olderThanMs: number
  dryRun: boolean
  orphans: boolean
  batchSize: number
  /** Upper bound on rows plus orphans handled in this run. */
  maxItems?: number
  now?: Date
  onProgress?: ((event: { phase: 'recover' | 'stale' | 'orphans', handled: number }) => void) | undefined
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
  staleFound: number
  deleted: number
  failed: number
  orphansFound: number
  orphansDeleted: number
  bytesFreed: number
  durationMs: number
}

export async function runCleanup (deps: CleanupDeps, options: CleanupOptions): Promise<CleanupSummary> {
  const started = Date.now()
  const summary: CleanupSummary = { dryRun: options.dryRun, staleFound: 0, deleted: 0, failed: 0, orphansFound: 0, orphansDeleted: 0, bytesFreed: 0, durationMs: 0 }
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
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.olderThanMs)
  let budget = options.maxItems ?? Number.POSITIVE_INFINITY
  const batch = () => Math.min(options.batchSize, budget)
  const limit = () => (Number.isFinite(budget) ? budget : undefined)

  /** The deletion protocol on a claimed batch; false when storage failed it all. */
  async function removeBatch (claimed: Claimed[], phase: 'recover' | 'stale'): Promise<boolean> {
    summary.staleFound += claimed.length
    budget -= claimed.length
    const removal = await removeClaimed({ storage: deps.storage, lifecycle: rows }, claimed)
    summary.deleted += removal.removed
    summary.bytesFreed += removal.bytesFreed
    summary.failed += removal.failed.length
    options.onProgress?.({ phase, handled: summary.staleFound })
    return removal.failed.length < claimed.length
  }

  /** Orphans of one page of listed objects: deleted, or only counted in a dry run. */
  async function removeOrphans (listed: ObjectInfo[]): Promise<void> {
    const referenced = await rows.keysWithRows(listed.map((object) => object.key))
    const orphans = listed.filter((object) => !referenced.has(object.key)).slice(0, batch())
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
