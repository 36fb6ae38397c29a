// The backfill job: legacy attachments (JSON on the main app's messages)
// become LINKED rows that behave exactly like uploaded ones.
//
// - Messages are read in id order from `after`; the summary's lastCursor
//   resumes a run. One run at a time (advisory lock).
// - An entry already imported, (message_id, storage_key), is skipped, so a
//   second run imports nothing; its mapping line is written again, so the
//   mapping file of any run is complete even if an earlier run died between
//   a row and its line.
// - Size and Last-Modified come from the object (HEAD); type, SHA-256 and
//   ETag from streaming its bytes, as an upload would. The row keeps the
//   object's key (legacy objects do not move) and gets a new id; the legacy
//   id is kept in legacy_id.
// - Malformed JSON, entries without a path and missing objects are skipped
//   and reported, never fatal. Each row is one INSERT: never half-imported.
import { randomUUID } from 'node:crypto'
import { basename } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import pLimit from 'p-limit'
import type postgres from 'postgres'
import { eq, inArray } from 'drizzle-orm'
import { withAdvisoryLock } from '../db/advisory-lock.js'
import { InfectedError } from '../errors.js'
import type { Scanner } from '../scan/scanner.js'
import { teeToScanner } from '../scan/tee.js'
import type { Database } from '../db/client.js'
import { chatAttachment } from '../db/schema.js'
import type { PreviewService } from '../domain/previews.js'
import { imageColumns } from '../domain/stage-attachment.js'
import { imageFormatOf, PROBE_BYTES, probeImage, type ImageProbe } from '../images/index.js'
import { ID_REGEX } from '../schemas/common.js'
import type { ObjectStorage } from '../storage/storage.js'
import { detectContentType, SNIFF_BYTES } from '../upload/content-type.js'
import { sanitizeFileName } from '../upload/file-name.js'
import { UploadMeter } from '../upload/meter.js'
import { peek } from '../upload/peek.js'
import { strongEtag } from '../upload/stage.js'
import { LegacySchemaError, parseAttachments, readLegacyMessages, type LegacyEntry, type LegacyMessage, type LegacySchema } from './legacy-source.js'

export interface BackfillOptions {
  schema: LegacySchema
  after?: string
  batchSize: number
  concurrency: number
  dryRun: boolean
  onMapping?: (line: { legacyId: string | null, id: string, messageId: string, dialogId: string, storageKey: string }) => void
  onReport?: (line: { messageId: string, index?: number, reason: SkipReason, path?: string, detail?: string }) => void
  onProgress?: ((summary: BackfillSummary) => void) | undefined
}

export type SkipReason = 'malformed_json' | 'not_an_array' | 'malformed_entry' | 'no_path' | 'missing_object' |
  'already_imported' | 'key_in_use' | 'dialog_missing' | 'invalid_dialog_id' | 'duplicate_entry' | 'infected' | 'failed' |
  // Imported; its previews could not be made now (made on the first request).
  'previews_pending'

export interface BackfillDeps {
  legacy: postgres.Sql
  database: Database
  databaseUrl: string
  storage: ObjectStorage
  /** With --scan: each object is scanned in the same pass that hashes it; infected ones are not imported. */
  scanner?: Scanner | undefined
  /**
   * Image facts come from the same pass (IMAGE_MAX_PIXELS); with a preview
   * service, an imported image's previews are made before the next import
   * of that worker, through the service's bounded pool.
   */
  images?: { maxPixels: number, previews?: PreviewService | undefined } | undefined
}

export interface BackfillSummary {
  dryRun: boolean
  alreadyRunning?: true
  error?: string
  messagesScanned: number
  imported: number
  skipped: number
  missingObjects: number
  malformed: number
  failed: number
  lastCursor: string | null
}

export async function runBackfill (deps: BackfillDeps, options: BackfillOptions): Promise<BackfillSummary> {
  const summary: BackfillSummary = { dryRun: options.dryRun, messagesScanned: 0, imported: 0, skipped: 0, missingObjects: 0, malformed: 0, failed: 0, lastCursor: options.after ?? null }
  try {
    const outcome = await withAdvisoryLock(deps.databaseUrl, 'backfill', async () => {
      for await (const messages of readLegacyMessages(deps.legacy, options.schema, { ...(options.after ? { after: options.after } : {}), batchSize: options.batchSize })) {
        await importBatch(deps, options, summary, messages)
        summary.messagesScanned += messages.length
        summary.lastCursor = messages.at(-1)!.id
        options.onProgress?.(summary)
      }
    })
    if (!outcome.acquired) summary.alreadyRunning = true
  } catch (err) {
    // Wrong table or column names are the caller's mistake, not a failed run.
    if (err instanceof LegacySchemaError) throw err
    summary.error = err instanceof Error ? err.message : String(err)
  }
  return summary
}

interface Candidate { message: LegacyMessage, entry: LegacyEntry & { path: string } }

async function importBatch (deps: BackfillDeps, options: BackfillOptions, summary: BackfillSummary, messages: LegacyMessage[]): Promise<void> {
  const skip = (message: LegacyMessage, reason: SkipReason, extra: { index?: number, path?: string, detail?: string } = {}) => {
    if (reason === 'missing_object') summary.missingObjects++
    else if (reason === 'malformed_json' || reason === 'not_an_array' || reason === 'malformed_entry') summary.malformed++
    else if (reason === 'failed') summary.failed++
    else summary.skipped++
    options.onReport?.({ messageId: message.id, reason, ...extra })
  }

  const candidates: Candidate[] = []
  for (const message of messages) {
    const parsed = parseAttachments(message.attachments)
    if (!parsed.ok) {
      skip(message, parsed.reason)
      continue
    }
    for (const index of parsed.malformedEntries) skip(message, 'malformed_entry', { index })
    const seen = new Set<string>()
    for (const entry of parsed.entries) {
      const where = { index: entry.index, ...(entry.path ? { path: entry.path } : {}) }
      if (!entry.path) skip(message, 'no_path', where)
      else if (message.ownerId === null) skip(message, 'dialog_missing', where)
      else if (!ID_REGEX.test(message.dialogId)) skip(message, 'invalid_dialog_id', where)
      else if (seen.has(entry.path)) skip(message, 'duplicate_entry', where)
      else {
        seen.add(entry.path)
        candidates.push({ message, entry: { ...entry, path: entry.path } })
      }
    }
  }

  // Already imported (same message and key), or the key belongs to another row.
  const { db } = deps.database
  const keys = candidates.map((c) => c.entry.path)
  const existing = keys.length === 0
    ? []
    : await db.select({ id: chatAttachment.id, legacyId: chatAttachment.legacyId, messageId: chatAttachment.messageId, dialogId: chatAttachment.dialogId, storageKey: chatAttachment.storageKey })
      .from(chatAttachment).where(inArray(chatAttachment.storageKey, keys))
  const byKey = new Map(existing.map((row) => [row.storageKey, row]))

  const limit = pLimit(options.concurrency)
  await Promise.all(candidates.map(({ message, entry }) => limit(async () => {
    const where = { index: entry.index, path: entry.path }
    const row = byKey.get(entry.path)
    if (row) {
      if (row.messageId !== message.id) return skip(message, 'key_in_use', { ...where, detail: `used by message ${row.messageId ?? '(none)'}` })
      options.onMapping?.({ legacyId: row.legacyId, id: row.id, messageId: message.id, dialogId: row.dialogId, storageKey: row.storageKey })
      return skip(message, 'already_imported', where)
    }
    try {
      const head = await deps.storage.head(entry.path)
      if (!head) return skip(message, 'missing_object', where)
      if (options.dryRun) {
        summary.imported++
        return
      }
      const print = await fingerprint(deps.storage, entry.path, entry.declaredType, deps.scanner)
      if (print.size !== head.size) return skip(message, 'failed', { ...where, detail: `object changed while reading (${print.size} of ${head.size} bytes)` })
      const id = randomUUID()
      const inserted = await db.insert(chatAttachment).values({
        id,
        dialogId: message.dialogId,
        ownerId: message.ownerId!,
        // The legacy JSON does not say who uploaded; the owner is the best guess.
        uploadedBy: message.ownerId!,
        status: 'LINKED',
        messageId: message.id,
        storageKey: entry.path,
        fileName: sanitizeFileName(entry.name ?? basename(entry.path)),
        declaredContentType: entry.declaredType?.toLowerCase().slice(0, 255) ?? null,
        contentType: print.contentType,
        sizeBytes: print.size,
        sha256: print.sha256,
        etag: strongEtag(print.sha256),
        createdAt: message.createdAt,
        linkedAt: message.createdAt,
        lastModified: head.lastModified,
        legacyId: entry.legacyId ?? null,
        ...imageColumns(print.contentType, print.image, deps.images?.maxPixels ?? Number.POSITIVE_INFINITY)
      }).onConflictDoNothing().returning()
      if (inserted.length === 0) {
        // Lost a race for the key: to another message, or to a concurrent import of this one.
        const [holder] = await db.select({ messageId: chatAttachment.messageId }).from(chatAttachment).where(eq(chatAttachment.storageKey, entry.path))
        return holder?.messageId === message.id
          ? skip(message, 'already_imported', where)
          : skip(message, 'key_in_use', { ...where, detail: `used by message ${holder?.messageId ?? '(none)'}` })
      }
      summary.imported++
      options.onMapping?.({ legacyId: entry.legacyId ?? null, id, messageId: message.id, dialogId: message.dialogId, storageKey: entry.path })
      // Not a failed import: without previews now, they are made on the first request.
      await deps.images?.previews?.generateAll(inserted[0]!).catch((err: unknown) => {
        options.onReport?.({ messageId: message.id, reason: 'previews_pending', ...where, detail: err instanceof Error ? err.message : String(err) })
      })
    } catch (err) {
      if (err instanceof InfectedError) return skip(message, 'infected', { ...where, detail: err.message })
      skip(message, 'failed', { ...where, detail: err instanceof Error ? err.message : String(err) })
    }
  })))
}

/**
 * Type, SHA-256 and size of a stored object, from streaming its bytes once;
 * with a scanner, the same bytes are scanned on the way (InfectedError, or
 * ScannerUnavailableError when no verdict could be had).
 */
async function fingerprint (storage: ObjectStorage, key: string, declaredType: string | undefined, scanner?: Scanner): Promise<{ contentType: string, sha256: string, size: number, image: ImageProbe | undefined | null }> {
  const { body: source } = await storage.get(key)
  const { head, body } = await peek(source, SNIFF_BYTES)
  const contentType = head.length === 0 ? 'application/octet-stream' : await detectContentType(head, declaredType)
  const format = imageFormatOf(contentType)
  const meter = new UploadMeter(Number.MAX_SAFE_INTEGER, { keepHead: format ? PROBE_BYTES : 0 })
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() })
  if (scanner) {
    const metered = body.pipe(meter)
    body.once('error', (err) => meter.destroy(err))
    await pipeline(teeToScanner(metered, scanner.startScan()), sink)
  } else {
    await pipeline(body, meter, sink)
  }
  return { contentType, sha256: meter.sha256(), size: meter.bytes, image: format ? probeImage(meter.head()) : null }
}
