// GET and HEAD /v1/attachments/:dialogId/:attachmentId — the bytes, for
// browsers. Order of decisions: rate limit (hook), token (401), the row and
// access (one indistinguishable 404), preconditions (304/412) and range
// (206/416) from the row, and only then one S3 request. HEAD stops before S3.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import {
  attachmentNotFound, BusyError, invalidToken, missingToken, PreconditionFailedError, RangeNotSatisfiableError, TooManyDownloadsError
} from '../../errors.js'
import { evaluatePreconditions, httpDate, ifRangeMatches } from '../../http/conditional.js'
import { contentDisposition } from '../../http/content-disposition.js'
import { parseRange, type RangeResult } from '../../http/range.js'
import { isInlineType, servedContentType } from '../../http/served-type.js'
import { ID_REGEX } from '../../schemas/common.js'
import { ObjectNotFoundError } from '../../storage/storage.js'
import { accessOf, auditStream } from './audit-access.js'
import { rateLimitSubject, readAccess } from './viewer.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const NIL_UUID = '00000000-0000-0000-0000-000000000000'
const FULL: RangeResult = { kind: 'full' }
// Opened directly, a browser renders an image inside a generated document;
// it may load the image itself and style it, nothing else, and still no script.
const INLINE_IMAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

const Params = Type.Object({ dialogId: Type.String(), attachmentId: Type.String() })
// Not validated beyond this: a repeated ?token= is an unacceptable token
// (401), and a repeated ?download= simply is not "1".
const Query = Type.Object({
  download: Type.Optional(Type.Unknown({ description: '"1" forces Content-Disposition: attachment' })),
  token: Type.Optional(Type.Unknown({ description: 'A dialog-scoped link token (dlg claim), short-lived' }))
})

class ClientGoneError extends Error {
  readonly statusCode = 499
  readonly code = 'ATT_CLIENT_GONE'
}

const downloadRoutes: FastifyPluginAsyncTypebox = async function downloadRoutes (app) {
  const config = app.config
  const cacheControl = `private, ${config.ATTACHMENT_CACHE_CONTROL}`
  const schema = {
    tags: ['public'],
    summary: 'The bytes of an attachment (user token: header, cookie or ?token=)',
    params: Params,
    querystring: Query
  }
  app.get('/attachments/:dialogId/:attachmentId', { schema, exposeHeadRoute: false, config: { metrics: 'download' } }, (request, reply) => deliver(request, reply, false))
  // Written out: Fastify's automatic HEAD runs the GET handler and downloads the body.
  app.head('/attachments/:dialogId/:attachmentId', { schema: { ...schema, hide: true }, config: { metrics: 'download' } }, (request, reply) => deliver(request, reply, true))

  async function deliver (request: FastifyRequest, reply: FastifyReply, head: boolean) {
    const viewer = request.viewer
    const claims = viewer?.claims
    if (!claims) throw viewer?.presented ? invalidToken(viewer.refusal) : missingToken()

    // Malformed ids run the same lookup as unknown ones, so no 404 answers
    // faster than another.
    const { dialogId, attachmentId } = request.params as { dialogId: string, attachmentId: string }
    const wellFormed = ID_REGEX.test(dialogId) && UUID.test(attachmentId)
    const row = await app.attachments.findById(wellFormed ? attachmentId : NIL_UUID)
    if (!wellFormed) throw attachmentNotFound('malformed_id')
    if (!row) throw attachmentNotFound('unknown_id')
    if (row.dialogId !== dialogId) throw attachmentNotFound('wrong_dialog')
    const access = readAccess(claims, row)
    if ('denied' in access) throw attachmentNotFound(access.denied)
    if (await app.revocations.revoked(claims, row.dialogId, row.ownerId)) throw attachmentNotFound('revoked')
    if (row.status === 'DELETING') throw attachmentNotFound('being_deleted')

    const validators = { etag: row.etag, lastModified: row.lastModified }
    const cacheHeaders = { 'cache-control': cacheControl, etag: row.etag, 'last-modified': httpDate(row.lastModified) }
    const precondition = evaluatePreconditions(request.headers, validators)
    if (precondition === 'not-modified') {
      app.audit?.revalidated(accessOf(request, row, access.granted, 'original'))
      return reply.code(304).headers(cacheHeaders).send()
    }
    if (precondition === 'failed') throw new PreconditionFailedError()

    // RFC 9110 §14.2: Range is defined for GET only; If-Range with a stale
    // validator means "send it all".
    const size = row.sizeBytes
    const ifRange = request.headers['if-range']
    const rangeApplies = !head && (ifRange === undefined || (typeof ifRange === 'string' && ifRangeMatches(ifRange, validators)))
    const range = rangeApplies ? parseRange(request.headers.range, size) : FULL
    if (range.kind === 'unsatisfiable') {
      reply.header('content-range', `bytes */${size}`)
      throw new RangeNotSatisfiableError()
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, size - 1]
    const length = Math.max(0, end - start + 1)
    const inline = isInlineType(row.contentType) && !isDownloadRequested((request.query as { download?: unknown }).download)
    const headers: Record<string, string> = {
      ...cacheHeaders,
      'content-type': servedContentType(row.contentType),
      'content-disposition': contentDisposition(inline ? 'inline' : 'attachment', row.fileName),
      'accept-ranges': 'bytes',
      'content-length': String(length),
      ...(inline ? { 'content-security-policy': INLINE_IMAGE_CSP } : {}),
      ...(range.kind === 'partial' ? { 'content-range': `bytes ${start}-${end}/${size}` } : {})
    }
    const status = range.kind === 'partial' ? 206 : 200
    if (head || length === 0) {
      if (!head) app.audit?.record(accessOf(request, row, access.granted, 'original'), status, 0)
      return reply.code(status).headers(headers).send(head ? undefined : '')
    }

    // Bounded: streams per viewer (429) and per instance (503). The slot is
    // held until the response is finished or the connection is gone.
    const release = app.slots.downloads.acquire(rateLimitSubject(viewer) ?? `ip:${request.ip}`)
    if (release === 'key') throw Object.assign(new TooManyDownloadsError(config.DOWNLOAD_MAX_CONCURRENT_PER_USER), { headers: { 'retry-after': '1' } })
    if (release === 'total') throw new BusyError('Too many downloads in progress')

    // A client that hangs up aborts the S3 request; once streaming, Fastify
    // destroys the body itself, which releases the S3 socket. A client that
    // stops reading is cut after DOWNLOAD_STALL_MS without progress on its
    // socket, which releases the S3 socket too.
    const controller = new AbortController()
    if (reply.raw.destroyed) {
      release()
      throw new ClientGoneError('client closed the request')
    }
    reply.raw.once('close', () => {
      release()
      if (!reply.raw.writableFinished) controller.abort()
    })
    reply.raw.setTimeout(config.DOWNLOAD_STALL_MS, () => {
      request.log.info({ stallMs: config.DOWNLOAD_STALL_MS }, 'download stalled: the client read nothing, connection closed')
      reply.raw.destroy()
    })
    let object
    try {
      object = await app.storage.get(row.storageKey, { ...(range.kind === 'partial' ? { range: { start, end } } : {}), signal: controller.signal })
    } catch (err) {
      if (controller.signal.aborted) throw new ClientGoneError('client closed the request')
      if (err instanceof ObjectNotFoundError) {
        request.log.error({ attachmentId: row.id, key: row.storageKey }, 'the object of an existing attachment is missing')
        throw attachmentNotFound('object_missing')
      }
      throw err
    }
    if (object.contentLength !== length) {
      object.body.destroy()
      throw new Error(`storage sent ${object.contentLength} bytes for ${row.storageKey}, expected ${length}`)
    }
    const sent = app.metrics.http.downloadBytes
    object.body.on('data', (chunk: Buffer) => { sent.inc(chunk.length) })
    if (app.audit) auditStream(app.audit, accessOf(request, row, access.granted, 'original'), reply, status, object.body)
    return reply.code(status).headers(headers).send(object.body)
  }
}

function isDownloadRequested (value: unknown): boolean {
  return value === '1' || value === 'true'
}

export default downloadRoutes
