// The one table this service owns. Migrations in migrations/ are generated
// from this file with `npm run db:generate`; never edit an applied migration.
import { sql } from 'drizzle-orm'
import { bigint, boolean, check, index, integer, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'

// Exported so drizzle-kit sees it and emits CREATE TYPE.
// UPLOADED (staged) -> LINKED (on a message); either -> DELETING while its
// object is being removed (cleanup, DELETE): no link can pass that state,
// and a run that dies in it is finished by the next cleanup.
export const attachmentStatus = pgEnum('attachment_status', ['UPLOADED', 'LINKED', 'DELETING'])
// Previews of an image attachment: pending (not made yet, or lost with the
// process that made them: made on the next request), ready, none (never:
// over the pixel cap, unsupported), failed (undecodable, timed out).
export const previewState = pgEnum('preview_state', ['pending', 'ready', 'none', 'failed'])

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' })

export const chatAttachment = pgTable('chat_attachment', {
  // Random v4 UUID chosen by the service: 122 unguessable bits.
  id: uuid('id').primaryKey(),
  dialogId: text('dialog_id').notNull(),
  // The user who owns the dialog; browser access is authorised against it.
  ownerId: text('owner_id').notNull(),
  uploadedBy: text('uploaded_by').notNull(),
  status: attachmentStatus('status').notNull().default('UPLOADED'),
  messageId: text('message_id'),
  storageKey: text('storage_key').notNull().unique(),
  // Sanitised for display and for Content-Disposition; never part of a key.
  fileName: text('file_name').notNull(),
  declaredContentType: text('declared_content_type'),
  // Detected from the bytes at upload; the only type the service serves.
  contentType: text('content_type').notNull(),
  sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
  sha256: text('sha256').notNull(),
  // Strong validator derived from sha256, so it never depends on the storage provider.
  etag: text('etag').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
  linkedAt: timestamptz('linked_at'),
  lastModified: timestamptz('last_modified').notNull().defaultNow(),
  // The id an imported attachment had in the main app's JSON (backfill).
  legacyId: text('legacy_id'),
  // Image facts, all null for a file that is not a raster image. Width and
  // height as displayed (EXIF orientation applied), read from the header at
  // upload; null when the header did not give them.
  imageFormat: text('image_format'),
  imageWidth: integer('image_width'),
  imageHeight: integer('image_height'),
  imageAnimated: boolean('image_animated'),
  // Known once decoded: whether a fallback preview is PNG (alpha) or JPEG.
  imageHasAlpha: boolean('image_has_alpha'),
  // ThumbHash, base64 (about 30 characters).
  imagePlaceholder: text('image_placeholder'),
  previewState: previewState('preview_state'),
  previewReason: text('preview_reason')
}, (t) => [
  index('chat_attachment_dialog_id_id_idx').on(t.dialogId, t.id),
  index('chat_attachment_status_created_at_idx').on(t.status, t.createdAt),
  // Leads with message_id, so it also serves "the attachments of a message";
  // a separate message_id index would only cost writes.
  uniqueIndex('chat_attachment_message_id_storage_key_idx').on(t.messageId, t.storageKey),
  // LINKED rows have a message, UPLOADED rows none; DELETING keeps what it had.
  check('chat_attachment_linked_has_message', sql`${t.status} <> 'LINKED' OR ${t.messageId} IS NOT NULL`),
  check('chat_attachment_staged_has_no_message', sql`${t.status} <> 'UPLOADED' OR ${t.messageId} IS NULL`),
  check('chat_attachment_size_not_negative', sql`${t.sizeBytes} >= 0`),
  check('chat_attachment_sha256_hex', sql`${t.sha256} ~ '^[0-9a-f]{64}$'`)
])

export type AttachmentRow = typeof chatAttachment.$inferSelect
export type NewAttachmentRow = typeof chatAttachment.$inferInsert

// One stored preview: made at most once per (attachment, size, format),
// under the attachment's advisory lock (src/domain/previews.ts). Its row is
// written after its object, so a row always has its object; an object
// without a row (a process died between the two) is an orphan the cleanup
// sweep removes. Rows go with their attachment's row (ON DELETE CASCADE)
// after the deletion protocol has deleted their objects.
export const attachmentPreview = pgTable('attachment_preview', {
  attachmentId: uuid('attachment_id').notNull().references(() => chatAttachment.id, { onDelete: 'cascade' }),
  size: integer('size').notNull(),
  // webp | jpeg | png
  format: text('format').notNull(),
  storageKey: text('storage_key').notNull().unique(),
  contentType: text('content_type').notNull(),
  width: integer('width').notNull(),
  height: integer('height').notNull(),
  sizeBytes: integer('size_bytes').notNull(),
  // Strong validator of the preview's bytes (SHA-256, like an original's).
  etag: text('etag').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow()
}, (t) => [
  primaryKey({ columns: [t.attachmentId, t.size, t.format] })
])

export type PreviewRow = typeof attachmentPreview.$inferSelect
export type NewPreviewRow = typeof attachmentPreview.$inferInsert

// Read audit: one row per 200/206 answer of an original or a preview, and
// one row per batch of 304s of the same attachment, variant and viewer
// (count > 1). Written in batches by src/audit/recorder.ts; pruned by the
// cleanup job after AUDIT_RETENTION. No foreign key: the log outlives the
// attachment, so "who read it before it was erased" can still be answered.
export const attachmentAccess = pgTable('attachment_access', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  attachmentId: uuid('attachment_id').notNull(),
  dialogId: text('dialog_id').notNull(),
  // "original", or "preview:<size>:<format>".
  variant: text('variant').notNull(),
  // The token's sub, or "dlg:<dialog>" for a dialog link token without one.
  viewer: text('viewer').notNull(),
  // owner | read_any | dialog_link
  grantedBy: text('granted_by').notNull(),
  // header | cookie | query
  tokenSource: text('token_source').notNull(),
  status: integer('status').notNull(),
  // Body bytes sent (for an interrupted answer: what was written).
  bytes: bigint('bytes', { mode: 'number' }).notNull(),
  // 1 for a 200/206; the number of 304s for a counted row.
  count: integer('count').notNull().default(1),
  // HMAC-SHA-256 of the client address with AUDIT_IP_SALT (null when unset).
  clientHash: text('client_hash'),
  at: timestamptz('at').notNull()
}, (t) => [
  index('attachment_access_dialog_at_idx').on(t.dialogId, t.at, t.id),
  index('attachment_access_at_idx').on(t.at)
])

export type AccessRow = typeof attachmentAccess.$inferSelect
export type NewAccessRow = typeof attachmentAccess.$inferInsert

// Revocations of browser tokens, set by the chat app: tokens of the dialog
// issued before issued_before are refused (dialog link tokens; and owner
// tokens of `sub` when it is set). Read by every instance (src/auth/revocations.ts).
export const tokenRevocation = pgTable('token_revocation', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  dialogId: text('dialog_id').notNull(),
  sub: text('sub'),
  issuedBefore: timestamptz('issued_before').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow()
})

export type RevocationRow = typeof tokenRevocation.$inferSelect
