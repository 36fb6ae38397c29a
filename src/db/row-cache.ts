// Rows of chat_attachment (and their ready previews) kept in process memory
// for the browser read path, so a revalidation or a small image costs no
// Postgres round trip. Never served stale beyond a bound:
//
// - Postgres says when a row changes: triggers (migration 0006) NOTIFY the
//   attachment id on every UPDATE or DELETE, at commit; every instance
//   LISTENs and drops the row. The instance that made the change drops it at
//   once, before it answers (evict()).
// - A read that started before a change must not store what it read: set()
//   only stores when no invalidation arrived since the matching begin().
// - Lost notifications: each instance NOTIFYs itself a heartbeat on its own
//   channel every HEARTBEAT_DIVISOR-th of maxStalenessMs. Notifications reach
//   a listener in commit order, so receiving a heartbeat sent at time T
//   proves that every change committed before T has been seen. When no
//   heartbeat came back for maxStalenessMs (listener down, Postgres down, a
//   stalled event loop), the cache is emptied and bypassed until one does.
//
// Small bodies (an original or a preview up to BODY_CACHE_ITEM_MAX) live in
// their row's entry, so they go exactly when the row goes: a change, a
// deletion, an eviction or a stale feed drops the bytes with the row. A
// stored object never changes under its key (keys are attachment ids), and a
// body is only kept for the row object it was read for. Their total is
// bounded by maxBodyBytes, least recently served out first.
import { randomBytes } from 'node:crypto'
import type postgres from 'postgres'
import { failureLog } from '../failure-log.js'
import type { FastifyBaseLogger } from 'fastify'

export const ROW_CHANGE_CHANNEL = 'chat_attachment_changed'
const HEARTBEAT_DIVISOR = 4

export interface RowCacheStats {
  hit (): void
  miss (): void
  /** Bypassed: the invalidation feed is not known to be current. */
  stale (): void
  invalidated (count: number): void
  /** A small body was answered from memory, or had to be read from storage. */
  body? (outcome: 'hit' | 'miss'): void
  /** The bytes of bodies kept changed to total. */
  bodyBytes? (total: number): void
}

interface Entry<R, P> {
  row: R
  previews: Map<string, P> | undefined
  /** Storage key -> bytes. */
  bodies: Map<string, Buffer> | undefined
}

/** Bodies larger than this are never kept (they are streamed). */
export const BODY_CACHE_ITEM_MAX = 64 * 1024

export interface RowCache<R, P> {
  /** The cached row, or undefined (not cached, or the cache is not current). */
  get (id: string): R | undefined
  preview (id: string, variant: string): P | undefined
  /** Call before reading from Postgres; pass the result to set(). */
  begin (): number
  set (id: string, row: R, token: number): void
  /** Only kept while the row itself is cached. */
  setPreview (id: string, variant: string, preview: P, token: number): void
  /** The kept bytes of a stored object of a cached row (an original or a preview). */
  body (id: string, key: string): Buffer | undefined
  /**
   * Keeps the bytes of key, read for this row object; call begin() before
   * reading them. Only kept while that very row is cached.
   */
  setBody (id: string, row: R, key: string, bytes: Buffer, token: number): void
  /** Bytes of bodies kept now. */
  readonly bodyBytes: number
  /** This instance changed these rows: forget them now. */
  evict (ids: Iterable<string>): void
  /** Whether lookups are served from memory right now. */
  readonly current: boolean
  readonly size: number
  /** Resolves when a heartbeat sent after this call has come back (tests). */
  synced (): Promise<void>
  close (): Promise<void>
}

export interface RowCacheOptions {
  sql: postgres.Sql
  maxEntries: number
  maxStalenessMs: number
  /** Total bytes of small bodies kept; 0 keeps none. */
  maxBodyBytes?: number
  log: FastifyBaseLogger
  stats?: RowCacheStats
}

export function createRowCache<R, P> (options: RowCacheOptions): RowCache<R, P> {
  const { sql, maxEntries, maxStalenessMs, stats } = options
  const maxBodyBytes = options.maxBodyBytes ?? 0
  const entries = new Map<string, Entry<R, P>>()
  // Kept bodies, least recently served first: the bytes -> [id, key] (no key string built per read).
  const bodyOrder = new Map<Buffer, [string, string]>()
  let bodyBytes = 0
  const failures = failureLog(options.log, 'Row cache invalidation feed (Postgres LISTEN)')
  const heartbeatChannel = `chat_attachment_hb_${randomBytes(8).toString('hex')}`
  const heartbeatMs = Math.max(25, Math.floor(maxStalenessMs / HEARTBEAT_DIVISOR))
  // Heartbeats in flight: sequence number -> time sent.
  const sent = new Map<number, number>()
  const waiters: Array<{ after: number, resolve: () => void }> = []
  let seq = 0
  let freshAt = -Infinity
  // Bumped by every invalidation and every clear; see begin()/set().
  let version = 0
  let closed = false
  let unlisten: (() => Promise<void>) | undefined
  let timer: NodeJS.Timeout | undefined

  function clear (): void {
    version++
    entries.clear()
    if (bodyBytes > 0) {
      bodyOrder.clear()
      bodyBytes = 0
      stats?.bodyBytes?.(0)
    }
  }

  /** Drops an entry and the accounting of its bodies; whether it was there. */
  function drop (id: string): boolean {
    const entry = entries.get(id)
    if (!entry) return false
    entries.delete(id)
    if (entry.bodies) {
      for (const bytes of entry.bodies.values()) {
        bodyOrder.delete(bytes)
        bodyBytes -= bytes.length
      }
      stats?.bodyBytes?.(bodyBytes)
    }
    return true
  }

  function isCurrent (): boolean {
    if (Date.now() - freshAt <= maxStalenessMs) return true
    if (entries.size > 0) clear()
    return false
  }

  function onChange (id: string): void {
    version++
    if (drop(id)) stats?.invalidated(1)
  }

  function onHeartbeat (payload: string): void {
    const n = Number(payload)
    const at = sent.get(n)
    if (at === undefined) return
    for (const [k] of sent) if (k <= n) sent.delete(k)
    freshAt = Math.max(freshAt, at)
    failures.success()
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.after <= n) waiters.splice(i, 1)[0]!.resolve()
    }
  }

  async function beat (): Promise<number> {
    const n = ++seq
    sent.set(n, Date.now())
    // Unanswered heartbeats are dropped after a while (listener down).
    for (const [k, at] of sent) if (Date.now() - at > 10 * maxStalenessMs) sent.delete(k)
    await sql`SELECT pg_notify(${heartbeatChannel}, ${String(n)})`
    return n
  }

  async function listen (): Promise<void> {
    // onlisten runs on every (re)connection of the listener: whatever
    // happened while it was away is unknown, so everything goes.
    const a = await sql.listen(ROW_CHANGE_CHANNEL, onChange, clear)
    const b = await sql.listen(heartbeatChannel, onHeartbeat)
    unlisten = async () => { await Promise.allSettled([a.unlisten(), b.unlisten()]) }
  }

  function step (): void {
    const done = unlisten ? beat() : listen().then(beat)
    done.catch((err: unknown) => failures.failure(err)).finally(schedule)
  }
  function schedule (): void {
    if (closed) return
    timer = setTimeout(step, heartbeatMs)
    timer.unref()
  }
  // Listening starts at once; until the first heartbeat is back, nothing is cached.
  step()

  return {
    get (id) {
      if (!isCurrent()) {
        stats?.stale()
        return undefined
      }
      const entry = entries.get(id)
      if (entry) stats?.hit()
      else stats?.miss()
      return entry?.row
    },
    preview (id, variant) {
      if (!isCurrent()) return undefined
      return entries.get(id)?.previews?.get(variant)
    },
    begin: () => version,
    set (id, row, token) {
      if (token !== version || !isCurrent()) return
      drop(id)
      entries.set(id, { row, previews: undefined, bodies: undefined })
      // Oldest insertion first out.
      if (entries.size > maxEntries) drop(entries.keys().next().value!)
    },
    setPreview (id, variant, preview, token) {
      if (token !== version) return
      const entry = entries.get(id)
      if (!entry) return
      ;(entry.previews ??= new Map()).set(variant, preview)
    },
    body (id, key) {
      if (maxBodyBytes === 0 || !isCurrent()) return undefined
      const bytes = entries.get(id)?.bodies?.get(key)
      if (bytes) {
        // Served: now the most recent.
        const where = bodyOrder.get(bytes)
        if (where) {
          bodyOrder.delete(bytes)
          bodyOrder.set(bytes, where)
        }
      }
      stats?.body?.(bytes ? 'hit' : 'miss')
      return bytes
    },
    setBody (id, row, key, bytes, token) {
      if (token !== version || bytes.length > BODY_CACHE_ITEM_MAX || bytes.length > maxBodyBytes || !isCurrent()) return
      const entry = entries.get(id)
      if (entry?.row !== row || entry.bodies?.has(key)) return
      // A view into a larger read buffer would keep all of it alive.
      const own = bytes.byteLength === bytes.buffer.byteLength ? bytes : ownCopy(bytes)
      ;(entry.bodies ??= new Map()).set(key, own)
      bodyOrder.set(own, [id, key])
      bodyBytes += own.length
      for (const [oldest, [oldId, oldKey]] of bodyOrder) {
        if (bodyBytes <= maxBodyBytes) break
        bodyOrder.delete(oldest)
        entries.get(oldId)?.bodies?.delete(oldKey)
        bodyBytes -= oldest.length
      }
      stats?.bodyBytes?.(bodyBytes)
    },
    get bodyBytes () { return bodyBytes },
    evict (ids) {
      version++
      for (const id of ids) drop(id)
    },
    get current () { return isCurrent() },
    get size () { return entries.size },
    synced () {
      const waited = new Promise<void>((resolve) => {
        waiters.push({ after: seq + 1, resolve })
      })
      // Sent now rather than at the next tick of the timer; a failure is the
      // timer's to report, and its next heartbeat settles the wait.
      if (unlisten && !closed) beat().catch(() => {})
      return waited
    },
    async close () {
      closed = true
      clearTimeout(timer)
      clear()
      for (const waiter of waiters.splice(0)) waiter.resolve()
      await unlisten?.()
    }
  }
}

/** A copy with an ArrayBuffer of its own (Buffer.from may use the shared pool). */
function ownCopy (bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length)
  bytes.copy(copy)
  return copy
}
