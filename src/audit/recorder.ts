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
import { encodeEvent, parseEncoded, type AccessEvent, type AccessLogRepository, type EncodedEvent } from '../db/access-log.js'
import { failureLog } from '../failure-log.js'
import { EventColumns } from './event-columns.js'

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
  /** Epoch milliseconds. */
  now?: () => number
}

export function createAuditRecorder (options: AuditOptions): AuditRecorder {
  const now = options.now ?? Date.now
  const failures = failureLog(options.log, 'Read audit (Postgres)')
  // Reads since the last write (event-columns.ts), and the rows of a failed
  // write, older, waiting for the next one as they were encoded.
  const fresh = new EventColumns()
  let retry: EncodedEvent[] = []
  let revalidations = new Map<string, AccessEvent>()
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

  function row (access: Access, status: number, bytes: number): AccessEvent {
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

  const queued = () => retry.length + fresh.length + revalidations.size

  /** Keeps the newest `maxBuffered` events (the 304s' rows are not dropped). */
  function bound (): void {
    const excess = queued() - options.maxBuffered
    if (excess <= 0) return
    const fromRetry = Math.min(excess, retry.length)
    if (fromRetry > 0) retry = retry.slice(fromRetry)
    const fromFresh = Math.min(excess - fromRetry, fresh.length)
    fresh.dropOldest(fromFresh)
    dropped += fromRetry + fromFresh
    failures.failure(new Error(`${dropped} access events dropped so far: more than AUDIT_BUFFER_MAX waiting`))
  }

  /** Everything waiting, as one JSON text; the buffers are empty after. */
  function encodeBatch (): { json: string, count: number } {
    const rows = [...retry, ...fresh.take(), ...Array.from(revalidations.values(), (event) => encodeEvent(event))]
    retry = []
    revalidations = new Map()
    return { json: JSON.stringify(rows), count: rows.length }
  }

  async function write (): Promise<void> {
    if (queued() === 0) return
    // Encoded at once: only the text waits for Postgres. Rows held across
    // the write (thousands a second) would outlive young collections and be
    // promoted, and the read path would pay for their full collection.
    const { json, count } = encodeBatch()
    try {
      await options.repository.insertEncoded(json)
      written += count
      failures.success()
    } catch (err) {
      failures.failure(err)
      // Kept for the next write, before what came meanwhile, within the bound.
      retry = parseEncoded(json)
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
      fresh.push(access, hash(access.clientAddress), status, bytes, now())
      if (queued() > options.maxBuffered) bound()
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
      const left = queued()
      if (left > 0) options.log.error({ lost: left }, 'access events could not be written before shutdown')
    },
    stats: () => ({ queued: queued(), dropped, written })
  }
}
