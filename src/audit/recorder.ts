// The read audit, off the download path: record() only appends to memory;
// a timer writes what has gathered with one INSERT at most every
// AUDIT_FLUSH_MS. 304s are not logged one by one: the 304s of the same
// attachment, variant, viewer and client in one interval become one row with
// their count.
//
// Bounded: at most AUDIT_BUFFER_MAX rows wait. While Postgres is down the
// rows of a failed write are kept (and retried) up to that bound; beyond it
// the oldest are dropped, counted, and logged (throttled). Downloads never
// wait on any of this. close() writes what is left (SIGTERM loses nothing
// while Postgres answers).
import { createHmac } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { AccessLogRepository } from '../db/access-log.js'
import type { NewAccessRow } from '../db/schema.js'
import { failureLog } from '../failure-log.js'

/** Client addresses whose hash is remembered; past it the memory starts over. */
const HASHED_ADDRESSES_MAX = 10_000

export type GrantedBy = 'owner' | 'read_any' | 'dialog_link'
export type TokenSource = 'header' | 'cookie' | 'query'

export interface Access {
  attachmentId: string
  dialogId: string
  /** "original", or "preview:<size>:<format>". */
  variant: string
  viewer: string
  grantedBy: GrantedBy
  tokenSource: TokenSource
  clientAddress: string
}

export interface AuditRecorder {
  /** A 200 or 206 that sent `bytes` body bytes. */
  record (access: Access, status: 200 | 206, bytes: number): void
  /** A 304: counted, written as one row per interval. */
  revalidated (access: Access): void
  /** Writes what has gathered now (the timer calls it). */
  flush (): Promise<void>
  /** Stops the timer and writes what is left. */
  close (): Promise<void>
  stats (): { queued: number, dropped: number, written: number }
}

export interface AuditOptions {
  repository: AccessLogRepository
  log: FastifyBaseLogger
  flushMs: number
  maxBuffered: number
  /** HMAC key for client addresses; undefined: addresses are not stored. */
  ipSalt: string | undefined
  now?: () => Date
}

export function createAuditRecorder (options: AuditOptions): AuditRecorder {
  const now = options.now ?? (() => new Date())
  const failures = failureLog(options.log, 'Read audit (Postgres)')
  let pending: NewAccessRow[] = []
  let revalidations = new Map<string, NewAccessRow>()
  let dropped = 0
  let written = 0
  let writing: Promise<void> | undefined

  // The same few client addresses (a proxy's, a NAT's) come back on every
  // read: each is hashed once, up to HASHED_ADDRESSES_MAX of them at a time.
  const hashed = new Map<string, string>()
  const hash = (address: string): string | null => {
    if (options.ipSalt === undefined) return null
    let value = hashed.get(address)
    if (value === undefined) {
      value = createHmac('sha256', options.ipSalt).update(address).digest('base64url').slice(0, 22)
      if (hashed.size >= HASHED_ADDRESSES_MAX) hashed.clear()
      hashed.set(address, value)
    }
    return value
  }

  function row (access: Access, status: number, bytes: number): NewAccessRow {
    return {
      attachmentId: access.attachmentId,
      dialogId: access.dialogId,
      variant: access.variant,
      viewer: access.viewer,
      grantedBy: access.grantedBy,
      tokenSource: access.tokenSource,
      status,
      bytes,
      count: 1,
      clientHash: hash(access.clientAddress),
      at: now()
    }
  }

  /** Keeps the newest `maxBuffered` rows. */
  function bound (): void {
    const excess = pending.length + revalidations.size - options.maxBuffered
    if (excess <= 0) return
    const cut = Math.min(excess, pending.length)
    pending = pending.slice(cut)
    dropped += cut
    failures.failure(new Error(`${dropped} access events dropped so far: more than AUDIT_BUFFER_MAX waiting`))
  }

  async function write (): Promise<void> {
    const batch = [...pending, ...revalidations.values()]
    if (batch.length === 0) return
    pending = []
    revalidations = new Map()
    try {
      await options.repository.insertMany(batch)
      written += batch.length
      failures.success()
    } catch (err) {
      failures.failure(err)
      // Kept for the next write, newest last, within the bound.
      pending = [...batch, ...pending]
      bound()
    }
  }

  const flush = (): Promise<void> => {
    // At most one write at a time: a slow Postgres delays the next, it does not multiply them.
    writing ??= write().finally(() => { writing = undefined })
    return writing
  }
  // write() catches its own errors: a timer flush never rejects.
  const timer = setInterval(() => { flush().catch(() => {}) }, options.flushMs)
  timer.unref()

  return {
    record (access, status, bytes) {
      pending.push(row(access, status, bytes))
      bound()
    },
    revalidated (access) {
      const key = `${access.attachmentId}\n${access.variant}\n${access.viewer}\n${access.grantedBy}\n${access.tokenSource}\n${access.clientAddress}`
      const counted = revalidations.get(key)
      if (counted) {
        counted.count = (counted.count ?? 1) + 1
        counted.at = now()
        return
      }
      revalidations.set(key, row(access, 304, 0))
      bound()
    },
    flush,
    async close () {
      clearInterval(timer)
      await writing
      await flush()
      const left = pending.length + revalidations.size
      if (left > 0) options.log.error({ lost: left }, 'access events could not be written before shutdown')
    },
    stats: () => ({ queued: pending.length + revalidations.size, dropped, written })
  }
}
