// A ZIP of many attachments, streamed as it is built (dialog archive,
// export by customer). zip-stream (the ZIP engine of `archiver`) writes one
// entry at a time and takes each from a stream, so:
// - only one S3 object is open at a time: the next GetObject is sent when the
//   previous entry is complete, and its Body is piped with backpressure all
//   the way to the client socket; memory stays bounded whatever the total;
// - entries are STOREd: attachments are mostly compressed already (images,
//   PDFs, archives), deflating them would cost CPU for little;
// - ZIP64 records are written when an entry, an offset or the entry count
//   passes the 32-bit limits, so exports above 4 GiB stay readable;
// - when the archive stream is destroyed (Fastify does that when the client
//   hangs up), the S3 request in flight is aborted and the open Body is
//   destroyed at once, which frees its socket.
// manifest.json is the last entry: it lists every attachment with the path it
// has inside the archive, or `missing: true` for an object storage lacked.
//
// zip-stream and the two copies of readable-stream it brings (~500 KB of
// code) load with the first archive, not at start; that the package is
// installed is checked at import.
import type { Readable } from 'node:stream'
import type { FastifyBaseLogger } from 'fastify'
import type ZipStream from 'zip-stream'
import type { AttachmentRow } from '../db/schema.js'
import { ObjectNotFoundError, type ObjectStorage } from '../storage/storage.js'
import { ArchiveNames } from './archive-names.js'

export interface ManifestEntry {
  path: string | null
  id: string
  dialogId: string
  messageId: string | null
  fileName: string
  contentType: string
  size: number
  sha256: string
  status: string
  createdAt: string
  linkedAt: string | null
  /** Storage had no object for this row: it is not in the archive. */
  missing?: true
}

export interface ArchiveOptions {
  /** What the archive holds, repeated in the manifest. */
  scope: { dialogId: string } | { ownerId: string }
  /** One folder per dialog (exports by customer); flat otherwise. */
  folders: boolean
  /** Called once an attachment's bytes are all in the archive (read audit). */
  onEntry?: (row: AttachmentRow, bytes: number) => void
}

import.meta.resolve('zip-stream')
let zipStream: Promise<typeof ZipStream> | undefined

/**
 * The archive as a stream (zip-stream's readable-stream Transform, which
 * Fastify pipes like any stream and destroys when the client hangs up).
 */
export async function buildArchive (deps: { storage: ObjectStorage, log: FastifyBaseLogger }, rows: AttachmentRow[], options: ArchiveOptions): Promise<ZipStream> {
  zipStream ??= import('zip-stream').then((module) => module.default)
  const zip = new (await zipStream)({ store: true })
  const controller = new AbortController()
  let open: Readable | undefined
  // Destroyed: by the client hanging up, or by a failure below.
  zip.once('close', () => {
    controller.abort(new Error('archive closed'))
    open?.destroy()
  })

  async function fill (): Promise<void> {
    const names = new ArchiveNames(['manifest.json'])
    const manifest: ManifestEntry[] = []
    for (const row of rows) {
      const entry = describe(row)
      manifest.push(entry)
      let object
      try {
        object = await deps.storage.get(row.storageKey, { signal: controller.signal })
      } catch (err) {
        if (!(err instanceof ObjectNotFoundError) || controller.signal.aborted) throw err
        deps.log.error({ attachmentId: row.id, key: row.storageKey }, 'archive: the object of an existing attachment is missing')
        entry.missing = true
        continue
      }
      open = object.body
      if (controller.signal.aborted) open.destroy()
      let bytes = 0
      open.on('data', (chunk: Buffer) => { bytes += chunk.length })
      entry.path = names.take(options.folders ? row.dialogId : '', row.fileName)
      await addEntry(zip, open, { name: entry.path, date: row.createdAt }, controller.signal)
      open = undefined
      options.onEntry?.(row, bytes)
    }
    const body = { generatedAt: new Date().toISOString(), ...options.scope, attachments: manifest }
    await addEntry(zip, Buffer.from(`${JSON.stringify(body, null, 2)}\n`), { name: 'manifest.json', date: new Date() }, controller.signal)
    zip.finalize()
  }

  fill().catch((err: unknown) => {
    if (controller.signal.aborted) return
    deps.log.error({ err }, 'archive failed: the answer is cut short')
    zip.destroy(err instanceof Error ? err : new Error(String(err)))
  })
  return zip
}

function describe (row: AttachmentRow): ManifestEntry {
  return {
    path: null,
    id: row.id,
    dialogId: row.dialogId,
    messageId: row.messageId,
    fileName: row.fileName,
    contentType: row.contentType,
    size: row.sizeBytes,
    sha256: row.sha256,
    status: row.status,
    createdAt: row.createdAt.toISOString(),
    linkedAt: row.linkedAt?.toISOString() ?? null
  }
}

/** One entry; rejects as soon as the archive is abandoned, whatever zip-stream does with the entry. */
function addEntry (zip: ZipStream, source: Readable | Buffer, data: { name: string, date: Date }, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    zip.entry(source, { ...data, store: true }, (err) => {
      signal.removeEventListener('abort', onAbort)
      if (err) reject(err)
      else resolve()
    })
  })
}
