// GET and HEAD /v1/attachments/:dialogId/:attachmentId — the bytes, for
// browsers. Order of decisions: rate limit (hook), token (401), the row and
// access (one indistinguishable 404), preconditions (304/412) and range
// (206/416) from the row, and only then one S3 request. HEAD stops before S3.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { contentDisposition } from '../../http/content-disposition.js'
import { isInlineType, servedContentType } from '../../http/served-type.js'
import { documentedAs, SECURITY } from '../../plugins/openapi.js'
import { ErrorResponse, ref } from '../../schemas/common.js'
import type { AttachmentRow } from '../../db/schema.js'
import type { TypedRequest } from '../typed-request.js'
import { findReadable, sendEntity, type Entity } from './deliver.js'

// Opened directly, a browser renders an image inside a generated document;
// it may load the image itself and style it, nothing else, and still no script.
export const INLINE_IMAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

const Params = Type.Object({ dialogId: Type.String(), attachmentId: Type.String() })
// Not validated beyond this: a repeated ?token= is an unacceptable token
// (401), and a repeated ?download= simply is not "1".
const Query = Type.Object({
  download: Type.Optional(Type.Unknown({ description: '"1" forces Content-Disposition: attachment' })),
  token: Type.Optional(Type.Unknown({ description: 'A dialog-scoped link token (dlg claim), short-lived' }))
})

// For the document only: the body is streamed, never serialised.
const bytes = (description: string) => ({ description, content: { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } })
const failure = (description: string) => ref(ErrorResponse, { description })
export const DOWNLOAD_RESPONSES = {
  200: bytes('The bytes, with the detected type; inline for safe images, else as an attachment'),
  206: bytes('The requested range'),
  304: Type.Null({ description: 'Not modified (If-None-Match / If-Modified-Since)' }),
  401: failure('No token, or one that is not acceptable (ATT_UNAUTHORIZED)'),
  404: failure('Not a readable attachment (ATT_NOT_FOUND), whatever the reason'),
  412: failure('If-Match or If-Unmodified-Since failed (ATT_PRECONDITION_FAILED)'),
  416: failure('The range is not satisfiable (ATT_RANGE_NOT_SATISFIABLE)'),
  429: failure('Rate limited or too many downloads at once (ATT_RATE_LIMITED, ATT_TOO_MANY_DOWNLOADS)'),
  503: failure('Busy or a dependency is failing (ATT_BUSY, ATT_UNAVAILABLE)')
}

const downloadRoutes: FastifyPluginAsyncTypebox = async function downloadRoutes (app) {
  const cacheControl = `private, ${app.config.ATTACHMENT_CACHE_CONTROL}`
  const schema = {
    operationId: 'downloadAttachment',
    tags: ['public'],
    summary: 'The bytes of an attachment (user token: header, cookie or ?token=)',
    description: 'Conditional (ETag, Last-Modified) and single-range requests are answered from the stored row. Everything that is not a readable attachment (unknown, another dialog, no access) is the same 404.',
    security: SECURITY.browser,
    params: Params,
    querystring: Query
  }
  app.get('/attachments/:dialogId/:attachmentId', { schema, exposeHeadRoute: false, config: { metrics: 'download', ...documentedAs({ response: DOWNLOAD_RESPONSES }) } }, (request, reply) => deliver(request, reply, false))
  // Written out: Fastify's automatic HEAD runs the GET handler and downloads the body.
  app.head('/attachments/:dialogId/:attachmentId', { schema: { ...schema, hide: true }, config: { metrics: 'download' } }, (request, reply) => deliver(request, reply, true))

  // A row's two possible answers (inline, or as an attachment), built on
  // first use: a row from the row cache is the same object every time.
  const entities = new WeakMap<AttachmentRow, { inlineType: boolean, inline?: Entity, attachment?: Entity }>()
  function entityOf (row: AttachmentRow, downloadRequested: boolean): Entity {
    let both = entities.get(row)
    if (!both) entities.set(row, both = { inlineType: isInlineType(row.contentType) })
    const inline = both.inlineType && !downloadRequested
    const which = inline ? 'inline' : 'attachment'
    return (both[which] ??= {
      key: row.storageKey,
      size: row.sizeBytes,
      etag: row.etag,
      lastModified: row.lastModified,
      variant: 'original',
      cacheHeaders: { 'cache-control': cacheControl },
      headers: {
        'content-type': servedContentType(row.contentType),
        'content-disposition': contentDisposition(which, row.fileName),
        ...(inline ? { 'content-security-policy': INLINE_IMAGE_CSP } : {})
      }
    })
  }

  async function deliver (request: TypedRequest<{ params: typeof Params, querystring: typeof Query }>, reply: FastifyReply, head: boolean) {
    const readable = await findReadable(app, request, request.params)
    return sendEntity(app, request, reply, head, readable, entityOf(readable.row, isDownloadRequested(request.query.download)))
  }
}

function isDownloadRequested (value: unknown): boolean {
  return value === '1' || value === 'true'
}

export default downloadRoutes
