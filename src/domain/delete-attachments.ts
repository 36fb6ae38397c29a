// The deletion protocol, written once for the DELETE routes, dialog erasure
// and the cleanup job: rows are first claimed (-> DELETING: unreadable,
// unlinkable), then their objects are deleted, then the rows of the objects
// that are gone. A row whose object could not be deleted stays DELETING and
// is finished by a retry or the next cleanup run; it never returns to a
// readable state, because a failed request may still have deleted the object.
import type { FastifyBaseLogger } from 'fastify'
import type { Claimed, LifecycleRepository } from '../db/lifecycle.js'
import { UnavailableError } from '../errors.js'
import { dialogPrefix } from '../storage/keys.js'
import type { DeleteManyResult, ObjectStorage } from '../storage/storage.js'

export interface DeletionDeps {
  storage: ObjectStorage
  lifecycle: LifecycleRepository
}

/** The API's deletions report storage failures in the log and answer 503. */
export type ApiDeletionDeps = DeletionDeps & { log: FastifyBaseLogger }

export interface Removal {
  /** Rows deleted. */
  removed: number
  /** Bytes of the deleted rows' objects. */
  bytesFreed: number
  failed: DeleteManyResult['failed']
}

/**
 * Deletes the objects of claimed rows, their previews' objects (and any
 * extra keys), then the rows whose objects are all gone; preview rows go
 * with them (ON DELETE CASCADE).
 */
export async function removeClaimed (deps: DeletionDeps, claimed: Claimed[], extraKeys: string[] = []): Promise<Removal> {
  const previews = await deps.lifecycle.previewKeys(claimed.map((row) => row.id))
  const { deleted, failed } = await deps.storage.deleteMany([...claimed.map((row) => row.storageKey), ...previews.map((p) => p.key), ...extraKeys])
  const gone = new Set(deleted)
  const kept = new Set(previews.filter((p) => !gone.has(p.key)).map((p) => p.attachmentId))
  const removable = claimed.filter((row) => gone.has(row.storageKey) && !kept.has(row.id))
  const removed = await deps.lifecycle.removeClaimed(removable.map((row) => row.id))
  return { removed, bytesFreed: removable.reduce((sum, row) => sum + row.sizeBytes, 0), failed }
}

/** For the API: storage failures are a retryable 503; the rows stay DELETING. */
async function removeOrFail (deps: ApiDeletionDeps, claimed: Claimed[], extraKeys: string[] = []): Promise<number> {
  const removal = await removeClaimed(deps, claimed, extraKeys)
  if (removal.failed.length > 0) {
    deps.log.error({ failed: removal.failed.slice(0, 10), count: removal.failed.length }, 'objects could not be deleted; their rows stay DELETING')
    throw new UnavailableError('Storage')
  }
  return removal.removed
}

/** Deletes one attachment of a dialog; false when there is none (a retry after success). */
export async function deleteAttachment (deps: ApiDeletionDeps, dialogId: string, attachmentId: string): Promise<boolean> {
  const claimed = await deps.lifecycle.claimInDialog(dialogId, attachmentId)
  if (claimed.length === 0) return false
  await removeOrFail(deps, claimed)
  return true
}

/**
 * Erases a dialog: every row, and every object stored under the dialog's
 * prefix without a row (an upload that died before its row was written
 * holds the dialog's data too). Returns how many rows went.
 */
export async function eraseDialog (deps: ApiDeletionDeps & { keyPrefix: string }, dialogId: string): Promise<number> {
  const claimed = await deps.lifecycle.claimInDialog(dialogId)
  // Preview keys are known through their rows (removeClaimed deletes them).
  const known = new Set([...claimed.map((row) => row.storageKey), ...(await deps.lifecycle.previewKeys(claimed.map((row) => row.id))).map((p) => p.key)])
  const strays: string[] = []
  for await (const object of deps.storage.list({ prefix: dialogPrefix(deps.keyPrefix, dialogId) })) {
    if (!known.has(object.key)) strays.push(object.key)
  }
  return removeOrFail(deps, claimed, strays)
}
