// Answers with a streamed ZIP (domain/archive.ts), for the internal archive
// and export routes and the browsers' "download all". The archive holds one
// of the instance's download slots (and one of the caller's) for as long as
// it streams; a client that reads nothing for DOWNLOAD_STALL_MS is cut, and a
// client that hangs up ends the S3 reads at once.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AttachmentRow } from '../db/schema.js'
import { buildArchive, type ArchiveOptions } from '../domain/archive.js'
import { BusyError, TooManyDownloadsError } from '../errors.js'
import { contentDisposition } from '../http/content-disposition.js'

export async function sendArchive (app: FastifyInstance, request: FastifyRequest, reply: FastifyReply,
  rows: AttachmentRow[], options: ArchiveOptions & { slotKey: string, fileName: string }): Promise<FastifyReply> {
  const config = app.config
  const release = app.slots.downloads.acquire(options.slotKey)
  if (release === 'key') throw Object.assign(new TooManyDownloadsError(config.DOWNLOAD_MAX_CONCURRENT_PER_USER), { headers: { 'retry-after': '1' } })
  if (release === 'total') throw new BusyError('Too many downloads in progress')
  reply.raw.once('close', release)
  reply.raw.setTimeout(config.DOWNLOAD_STALL_MS, () => {
    request.log.info({ stallMs: config.DOWNLOAD_STALL_MS }, 'archive stalled: the client read nothing, connection closed')
    reply.raw.destroy()
  })
  const archive = await buildArchive({ storage: app.storage, log: request.log }, rows, options)
  request.log.info({ attachments: rows.length, bytes: rows.reduce((sum, row) => sum + row.sizeBytes, 0) }, 'archive streaming')
  return reply.code(200).headers({
    'content-type': 'application/zip',
    'content-disposition': contentDisposition('attachment', options.fileName),
    // Built on every request from what exists now: never stored by a cache.
    'cache-control': 'private, no-store',
    'x-content-type-options': 'nosniff'
  }).send(archive)
}
