// Erasure by customer ("delete everything I sent you"): every dialog holding
// attachments of the owner is erased with the dialog erasure flow (objects,
// stray objects, rows; tombstones with reason "erased"); dialogs under legal
// hold are left whole and reported. A storage failure stops the request with
// 503; a retry resumes (erased dialogs simply have nothing left).
import type { CollectionRepository } from '../db/collections.js'
import { LegalHoldError } from '../errors.js'
import { eraseDialog, type ApiDeletionDeps } from './delete-attachments.js'

export interface OwnerErasure {
  ownerId: string
  /** Attachments deleted in all. */
  deleted: number
  dialogs: Array<{ dialogId: string, deleted: number }>
  /** Dialogs under legal hold, untouched, with the attachments they keep. */
  heldBack: Array<{ dialogId: string, attachments: number }>
}

export async function eraseOwner (deps: ApiDeletionDeps & { keyPrefix: string, collections: CollectionRepository }, ownerId: string): Promise<OwnerErasure> {
  const result: OwnerErasure = { ownerId, deleted: 0, dialogs: [], heldBack: [] }
  for (const { dialogId, attachments } of await deps.collections.dialogsOfOwner(ownerId)) {
    try {
      const deleted = await eraseDialog(deps, dialogId)
      result.dialogs.push({ dialogId, deleted })
      result.deleted += deleted
    } catch (err) {
      if (!(err instanceof LegalHoldError)) throw err
      result.heldBack.push({ dialogId, attachments })
    }
  }
  return result
}
