import fastifyMultipart, { type Multipart } from '@fastify/multipart'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { allowedTypes, previewSizes } from '../../config.js'
import type { AttachmentRow } from '../../db/schema.js'
import { BadUploadError, BusyError, FileTooLargeError, NotMultipartError } from '../../errors.js'
import { documentedAs } from '../../plugins/openapi.js'
import { Attachment, toAttachmentDto, UploadForm } from '../../schemas/attachment.js'
import { DialogParams, errorResponses, ExternalId, ID_PATTERN, ID_REGEX, ref } from '../../schemas/common.js'
import { sanitizeFileName } from '../../upload/file-name.js'
import { stageAttachment } from '../../domain/stage-attachment.js'
import type { StageOptions } from '../../upload/stage.js'
import { fieldOf, stringField } from '../../fields.js'

// Room for the multipart envelope around the file (boundaries, part headers,
// the id fields) when judging a Content-Length before reading the body.
export const ENVELOPE_BYTES = 16 * 1024
const FIELDS = ['ownerId', 'uploadedBy'] as const
type FieldName = typeof FIELDS[number]
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/

const UploadQuery = Type.Object({
  ownerId: Type.Optional(ExternalId),
  uploadedBy: Type.Optional(ExternalId)
})

const uploadRoutes: FastifyPluginAsyncTypebox = async function uploadRoutes (app) {
  const maxBytes = app.config.ATTACHMENT_MAX_BYTES
  const stage: StageOptions = {
    storage: app.storage,
    keyPrefix: app.config.S3_KEY_PREFIX,
    maxBytes,
    allowedTypes: allowedTypes(app.config),
    stripLocation: app.config.ORIGINAL_METADATA === 'strip-location',
    scanner: app.scanner
  }
  // Only multipart bodies are read here. Any other body (JSON, text,
  // multipart/mixed, none declared) is left unread and answered 415
  // ATT_NOT_MULTIPART by the handler; the framework's parsers would read a
  // JSON body whole first, or answer with their own code.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
  await app.register(fastifyMultipart, {
    // One byte over the limit reaches UploadMeter, which fails the upload;
    // at the limit itself multipart would silently truncate.
    limits: { fileSize: maxBytes + 1, files: 2, fields: 4, parts: 6, fieldNameSize: 64, fieldSize: 1024, headerPairs: 32 }
  })

  app.post('/dialogs/:dialogId/attachments', {
    schema: {
      operationId: 'uploadStage',
      tags: ['internal'],
      summary: 'Upload-stage one file',
      description: 'multipart/form-data: an `ownerId` field (or query parameter), optionally `uploadedBy`, then exactly one file part named `file`. The file streams to storage as it arrives; the row is UPLOADED until linked.',
      consumes: ['multipart/form-data'],
      params: DialogParams,
      querystring: UploadQuery,
      response: { 201: ref(Attachment, { description: 'Staged' }), ...errorResponses(400, 401, 403, 413, 415, 422, 503) }
    },
    config: { metrics: 'upload', ...documentedAs({ body: ref(UploadForm) }) }
  }, async (request, reply) => {
    if (!request.isMultipart()) throw new NotMultipartError()
    // A truthful Content-Length already tells: refuse before reading.
    if (Number(request.headers['content-length']) > maxBytes + ENVELOPE_BYTES) throw new FileTooLargeError(maxBytes)
    // Each upload in flight holds up to ~25 MiB (see the storage module):
    // their number per instance is what bounds upload memory.
    if (reply.raw.destroyed) return reply
    const release = app.slots.uploads.acquire('all')
    if (typeof release !== 'function') throw new BusyError('Too many uploads in progress')
    reply.raw.once('close', release)
    // A large file may take minutes on a slow link: judged by its progress.
    app.bodyDeadline.expectSlowBody(request.raw)
    const row = await receiveUpload(request, request.params.dialogId, request.query)
    app.metrics.http.uploadBytes.inc(row.sizeBytes)
    return reply.code(201).send(toAttachmentDto(row, { previewSizes: previewSizes(app.config) }))
  })

  /**
   * Reads the form part by part: fields first, then the file, which streams
   * to storage as it arrives (stageAttachment). The rest of the form is read
   * before the row is written, so a form that proves wrong after the file
   * (a second file, a late field) rolls the stored object back.
   */
  async function receiveUpload (request: FastifyRequest, dialogId: string, query: Partial<Record<FieldName, string>>): Promise<AttachmentRow> {
    const fields: Partial<Record<FieldName, string>> = {}
    const parts = request.parts()[Symbol.asyncIterator]()
    for (let part = await nextPart(parts); part; part = await nextPart(parts)) {
      if (part.type === 'field') {
        acceptField(fields, part.fieldname, part.value, part.valueTruncated)
        continue
      }
      if (part.fieldname !== 'file') {
        part.file.resume()
        throw new BadUploadError(`Unexpected file part "${part.fieldname}"; name it "file"`)
      }
      // Fail before any byte is stored when the form is already wrong.
      resolveIds(fields, query)
      const file = part.file
      try {
        return await stageAttachment({ attachments: app.attachments, stage, log: request.log, maxImagePixels: app.config.IMAGE_MAX_PIXELS, previews: app.previews }, {
          dialogId,
          file,
          fileName: sanitizeFileName(part.filename),
          declaredType: declaredType(part.mimetype),
          complete: async () => {
            if (file.truncated) throw new FileTooLargeError(maxBytes)
            const extra = await nextPart(parts)
            if (extra) {
              if (extra.type === 'file') extra.file.resume()
              throw new BadUploadError(extra.type === 'field' ? 'Fields must come before the file part' : 'Exactly one file part is allowed')
            }
            return resolveIds(fields, query)
          }
        })
      } catch (err) {
        // The multipart stream itself failed: a malformed body or a client gone.
        if (file.errored && !fieldOf(err, 'statusCode')) throw multipartError(file.errored)
        throw err
      }
    }
    throw new BadUploadError('A file part named "file" is required')
  }

  async function nextPart (parts: AsyncIterator<Multipart>): Promise<Multipart | undefined> {
    try {
      const next = await parts.next()
      return next.done ? undefined : next.value
    } catch (err) {
      throw multipartError(err)
    }
  }

  function multipartError (err: unknown): Error {
    const code = stringField(err, 'code')
    const message = stringField(err, 'message')
    if (code === 'FST_REQ_FILE_TOO_LARGE') return new FileTooLargeError(maxBytes)
    if (code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT' || code === 'FST_FIELDS_LIMIT') {
      return new BadUploadError('Too many parts: send ownerId, optionally uploadedBy, and one file')
    }
    return new BadUploadError(`Malformed multipart body: ${message ?? 'unreadable'}`)
  }
}

function acceptField (fields: Partial<Record<FieldName, string>>, name: string, value: unknown, truncated: boolean): void {
  if (!(FIELDS as readonly string[]).includes(name)) throw new BadUploadError(`Unknown field "${name}"; expected ${FIELDS.join(' or ')}`)
  const field = name as FieldName
  if (fields[field] !== undefined) throw new BadUploadError(`Field "${field}" was sent twice`)
  if (truncated || typeof value !== 'string' || !ID_REGEX.test(value)) throw new BadUploadError(`Field "${field}" must match ${ID_PATTERN}`)
  fields[field] = value
}

function resolveIds (fields: Partial<Record<FieldName, string>>, query: Partial<Record<FieldName, string>>): { ownerId: string, uploadedBy: string } {
  for (const name of FIELDS) {
    if (fields[name] !== undefined && query[name] !== undefined && fields[name] !== query[name]) {
      throw new BadUploadError(`"${name}" differs between the form and the query string`)
    }
  }
  const ownerId = fields.ownerId ?? query.ownerId
  if (ownerId === undefined) throw new BadUploadError('"ownerId" is required, as a field before the file or as a query parameter')
  return { ownerId, uploadedBy: fields.uploadedBy ?? query.uploadedBy ?? ownerId }
}

/** The client's label, kept for reference only when it is a well-formed media type. */
function declaredType (mimetype: string | undefined): string | null {
  const type = mimetype?.split(';', 1)[0]?.trim().toLowerCase()
  return type && MEDIA_TYPE.test(type) ? type : null
}

export default uploadRoutes
