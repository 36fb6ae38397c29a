// Schemas of the retention, legal hold, tombstone and erasure routes.
import { Type } from 'typebox'
import { AttachmentId, ExternalId } from './common.js'

const Timestamp = Type.String({ format: 'date-time' })

export const PolicyBody = Type.Object({
  retentionDays: Type.Union([Type.Integer({ minimum: 1, maximum: 36_500 }), Type.Null()], {
    description: 'Days after upload when the cleanup job deletes the dialog\'s attachments on messages; null: the global RETENTION_DAYS'
  }),
  legalHold: Type.Boolean({ description: 'While true nothing of the dialog is deleted by any path (DELETE answers 409 ATT_LEGAL_HOLD)' })
}, { additionalProperties: false })

export const Policy = Type.Object({
  dialogId: ExternalId,
  retentionDays: Type.Union([Type.Integer(), Type.Null()]),
  legalHold: Type.Boolean(),
  effectiveRetentionDays: Type.Union([Type.Integer(), Type.Null()], { description: 'What the cleanup job applies: retentionDays, else RETENTION_DAYS; null: kept for ever' }),
  updatedAt: Type.Union([Timestamp, Type.Null()], { description: 'null: never set (the defaults apply)' })
})

export const Tombstone = Type.Object({
  attachmentId: AttachmentId,
  dialogId: ExternalId,
  ownerId: ExternalId,
  messageId: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Enum(['deleted', 'erased', 'retention', 'stale'], {
    description: 'deleted: DELETE of the attachment; erased: erasure of its dialog or owner; retention: past its retention; stale: staged and never linked'
  }),
  deletedAt: Timestamp
})

export const TombstonePage = Type.Object({
  tombstones: Type.Array(Tombstone),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as ?cursor= for the next (older) page; null on the last page' })
})

export const TombstoneQuery = Type.Object({
  cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 })
}, { additionalProperties: false })

export const OwnerParams = Type.Object({ ownerId: ExternalId })

export const OwnerErasure = Type.Object({
  ownerId: ExternalId,
  deleted: Type.Integer({ minimum: 0, description: 'Attachments deleted in all' }),
  dialogs: Type.Array(Type.Object({ dialogId: ExternalId, deleted: Type.Integer({ minimum: 0 }) })),
  heldBack: Type.Array(Type.Object({ dialogId: ExternalId, attachments: Type.Integer({ minimum: 0 }) }), {
    description: 'Dialogs under legal hold: nothing of them was deleted'
  })
})
