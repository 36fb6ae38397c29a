// GET and HEAD /v1/attachments/:dialogId/:attachmentId — the bytes, for
// browsers. Order of decisions: rate limit (hook), token (401), the row and
// access (one indistinguishable 404), preconditions (304/412) and range
// (206/416) from the row, and only then one S3 request. HEAD stops before S3.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { contentDisposition } from '../../http/content-disposition.js'
import { isInlineType, servedContentType } from '../../http/served-type.js'
import { findReadable, sendEntity } from './deliver.js'

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

const downloadRoutes: FastifyPluginAsyncTypebox = async function downloadRoutes (app) {
  const cacheControl = `private, ${app.config.ATTACHMENT_CACHE_CONTROL}`
  const schema = {
    tags: ['public'],
    summary: 'The bytes of an attachment (user token: header, cookie or ?token=)',
    params: Params,
    querystring: Query
  }
  app.get('/attachments/:dialogId/:attachmentId', { schema, exposeHeadRoute: false }, (request, reply) => deliver(request, reply, false))
  // Written out: Fastify's automatic HEAD runs the GET handler and downloads the body.
  app.head('/attachments/:dialogId/:attachmentId', { schema: { ...schema, hide: true } }, (request, reply) => deliver(request, reply, true))

  async function deliver (request: FastifyRequest, reply: FastifyReply, head: boolean) {
    const readable = await findReadable(app, request)
    const { row } = readable
    const inline = isInlineType(row.contentType) && !isDownloadRequested((request.query as { download?: unknown }).download)
    return sendEntity(app, request, reply, head, readable, {
      key: row.storageKey,
      size: row.sizeBytes,
      etag: row.etag,
      lastModified: row.lastModified,
      variant: 'original',
      cacheHeaders: { 'cache-control': cacheControl },
      headers: {
        'content-type': servedContentType(row.contentType),
        'content-disposition': contentDisposition(inline ? 'inline' : 'attachment', row.fileName),
        ...(inline ? { 'content-security-policy': INLINE_IMAGE_CSP } : {})
      }
    })
  }
}

function isDownloadRequested (value: unknown): boolean {
  return value === '1' || value === 'true'
}

export default downloadRoutes
