// Revoked browser tokens, known to every instance within a second. The
// chat app revokes the tokens of a dialog issued before a time (dialog link
// tokens; and, when it names a `sub`, that owner's tokens). Each instance
// keeps every revocation in memory (they are few and small: ~100 bytes
// each) and reads new ones every REVOCATION_POLL_MS. A revocation is checked
// on every request, after the token was verified (or taken from the
// verified-token cache), so a cached token is refused as soon as the
// instance knows.
//
// New rows are found by id, and rows of the last seconds are read again on
// every poll: identity ids are handed out before commit, so a row can become
// visible after one with a higher id.
//
// Never served on stale knowledge: when the last successful read is older
// than REVOCATION_MAX_STALENESS_MS (a late timer on a busy machine, a slow
// query), a request that a revocation could refuse waits for a read that
// started at most that long ago. Only when that read fails (Postgres down)
// is the answer a 503: fail closed, without refusing readers because the
// machine is busy.
import type { FastifyBaseLogger } from 'fastify'
import { gt, or, sql } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { tokenRevocation } from '../db/schema.js'
import { UnavailableError } from '../errors.js'
import { failureLog } from '../failure-log.js'
import type { TokenClaims } from '../plugins/auth.js'

const REREAD_SECONDS = 10

interface DialogRevocations {
  /** Link tokens of the dialog issued before this (ms) are refused. */
  linksBefore: number
  /** Owner tokens of a sub issued before this (ms) are refused. */
  subsBefore: Map<string, number>
}

export interface Revocations {
  /**
   * Whether a verified token may no longer read this dialog: synchronous
   * while the list is fresh, a promise while it is refreshed; rejects with
   * 503 when it cannot be.
   */
  revoked (claims: TokenClaims, dialogId: string, ownerId: string): boolean | Promise<boolean>
  /** Records a revocation (the instance that records it knows at once). */
  add (dialogId: string, sub: string | undefined, issuedBefore: Date): Promise<void>
  /** Reads what is new; the timer calls it. */
  refresh (): Promise<void>
  /** How many revocations this instance knows (for tests and metrics). */
  readonly size: number
  close (): void
}

export function createRevocations (options: { db: Db, pollMs: number, maxStalenessMs: number, log: FastifyBaseLogger }): Revocations {
  const { db } = options
  const byDialog = new Map<string, DialogRevocations>()
  const seen = new Set<number>()
  const failures = failureLog(options.log, 'Revocation list (Postgres)')
  let lastId = 0
  let freshAt = 0
  let refreshing: Promise<void> | undefined

  function apply (row: { id: number, dialogId: string, sub: string | null, issuedBefore: Date }): void {
    if (seen.has(row.id)) return
    seen.add(row.id)
    lastId = Math.max(lastId, row.id)
    let entry = byDialog.get(row.dialogId)
    if (!entry) {
      entry = { linksBefore: 0, subsBefore: new Map() }
      byDialog.set(row.dialogId, entry)
    }
    const before = row.issuedBefore.getTime()
    entry.linksBefore = Math.max(entry.linksBefore, before)
    if (row.sub !== null) entry.subsBefore.set(row.sub, Math.max(entry.subsBefore.get(row.sub) ?? 0, before))
  }

  async function read (): Promise<void> {
    const started = Date.now()
    try {
      const rows = await db.select().from(tokenRevocation).where(or(
        gt(tokenRevocation.id, lastId),
        gt(tokenRevocation.createdAt, sql`now() - ${`${REREAD_SECONDS} seconds`}::interval`)
      ))
      for (const row of rows) apply(row)
      freshAt = started
      failures.success()
    } catch (err) {
      failures.failure(err)
    }
  }

  const refresh = (): Promise<void> => {
    refreshing ??= read().finally(() => { refreshing = undefined })
    return refreshing
  }
  const timer = setInterval(() => { refresh().catch(() => {}) }, options.pollMs)
  timer.unref()
  refresh().catch(() => {})

  function known (claims: TokenClaims, dialogId: string, link: boolean, owner: boolean): boolean {
    const entry = byDialog.get(dialogId)
    if (!entry) return false
    // A token without iat cannot prove it was issued after a revocation.
    const issued = typeof claims.iat === 'number' ? claims.iat * 1000 : Number.NEGATIVE_INFINITY
    if (link && issued < entry.linksBefore) return true
    return owner && issued < (entry.subsBefore.get(claims.sub as string) ?? 0)
  }

  // A read in flight may have started too long before the request; then one
  // more, which starts after it, decides.
  async function fresh (asked: number): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      await refresh()
      if (asked - freshAt <= options.maxStalenessMs) return
    }
    throw new UnavailableError('The revocation list')
  }

  return {
    revoked (claims, dialogId, ownerId) {
      const link = typeof claims.dlg === 'string' && claims.dlg === dialogId
      const owner = typeof claims.sub === 'string' && claims.sub === ownerId
      if (!link && !owner) return false
      const asked = Date.now()
      if (asked - freshAt <= options.maxStalenessMs) return known(claims, dialogId, link, owner)
      return fresh(asked).then(() => known(claims, dialogId, link, owner))
    },
    async add (dialogId, sub, issuedBefore) {
      const [row] = await db.insert(tokenRevocation).values({ dialogId, sub: sub ?? null, issuedBefore }).returning()
      apply(row!)
    },
    refresh,
    get size () {
      return seen.size
    },
    close () {
      clearInterval(timer)
    }
  }
}
