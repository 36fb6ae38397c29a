// GET and HEAD /v1/attachments/:dialogId/:attachmentId/preview/:size — a
// preview of an image attachment: the original's token sources, access rule,
// common 404, rate limit and headers (deliver.ts), its own validators.
//
// Format by Accept (RFC 9110 §12.5.1): WebP for any client that admits
// image/webp, image/* or */* (no Accept header included); otherwise the
// fallback, JPEG, or PNG when the image has transparency. Exactly two
// variants per size, whatever the header says, so Accept cannot multiply
// what is stored. A preview not made yet is made now, once across instances
// (domain/previews.ts); the request waits for it up to PREVIEW_WAIT_MS.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { previewSizes } from '../../config.js'
import { isLockTimeout, type WantedFormat } from '../../db/previews.js'
import type { PreviewRow } from '../../db/schema.js'
import type { Ensured } from '../../domain/previews.js'
import { attachmentNotFound, NoPreviewError, PreviewPendingError } from '../../errors.js'
import { contentDisposition } from '../../http/content-disposition.js'
import { previewExtension } from '../../storage/keys.js'
import { documentedAs, SECURITY } from '../../plugins/openapi.js'
import { DOWNLOAD_RESPONSES } from './download.js'
import { ObjectNotFoundError } from '../../storage/storage.js'
import { INLINE_IMAGE_CSP } from './download.js'
import type { TypedRequest } from '../typed-request.js'
import { findReadable, sendEntity, type Entity, type Readable } from './deliver.js'

const Params = Type.Object({ dialogId: Type.String(), attachmentId: Type.String(), size: Type.String() })
const Query = Type.Object({
  token: Type.Optional(Type.Unknown({ description: 'A dialog-scoped link token (dlg claim), short-lived' }))
})
const WEBP_RANGES = new Set(['image/webp', 'image/*', '*/*'])
const TIMED_OUT = Symbol('timed out')

// WebP unless the Accept header admits none of image/webp, image/*, */* (q=0 refuses).
export function negotiate (accept: string | undefined): WantedFormat {
  if (accept === undefined || accept.trim() === '') return 'webp'
  for (const element of accept.split(',')) {
    const [range = '', ...params] = element.split(';').map((part) => part.trim().toLowerCase())
    if (!WEBP_RANGES.has(range)) continue
    const q = params.find((param) => param.startsWith('q='))
    if (q === undefined || Number(q.slice(2)) > 0) return 'webp'
  }
  return 'fallback'
}

/** "Holiday photo.HEIC" -> "Holiday photo.webp" */
export function previewFileName (fileName: string, format: string): string {
  const stem = fileName.replace(/\.[^./\\]{1,16}$/, '')
  return `${stem === '' ? 'preview' : stem}.${previewExtension(format)}`
}

const previewRoutes: FastifyPluginAsyncTypebox = async function previewRoutes (app) {
  const config = app.config
  const sizes = new Set(previewSizes(config))
  const cacheHeaders = { 'cache-control': `private, ${config.ATTACHMENT_CACHE_CONTROL}`, vary: 'Accept' }
  const schema = {
    operationId: 'downloadPreview',
    tags: ['public'],
    security: SECURITY.browser,
    summary: 'A preview of an image attachment, fitting in size x size (user token: header, cookie or ?token=)',
    description: `size: one of ${[...sizes].join(', ')} (PREVIEW_SIZES). WebP, or JPEG/PNG for a client whose Accept admits no WebP. ` +
      '404 ATT_NO_PREVIEW for an attachment without previews; 503 with Retry-After while one is being made or the image pool is full.',
    params: Params,
    querystring: Query
  }
  const path = '/attachments/:dialogId/:attachmentId/preview/:size'
  app.get(path, { schema, exposeHeadRoute: false, config: { metrics: 'download', ...documentedAs({ response: DOWNLOAD_RESPONSES }) } }, (request, reply) => deliver(request, reply, false))
  app.head(path, { schema: { ...schema, hide: true }, config: { metrics: 'download' } }, (request, reply) => deliver(request, reply, true))

  async function deliver (request: TypedRequest<{ params: typeof Params, querystring: typeof Query }>, reply: FastifyReply, head: boolean) {
    const readable = await findReadable(app, request, request.params)
    const { row } = readable
    const size = Number(request.params.size)
    if (!/^[1-9][0-9]{0,4}$/.test(request.params.size) || !sizes.has(size)) throw attachmentNotFound('unknown_route')
    if (row.previewState === null || row.previewState === 'none' || row.previewState === 'failed') throw noPreview(row.previewReason)

    const wanted = negotiate(request.headers.accept)
    const preview = await app.previewRows.find(row.id, size, wanted) ?? await generated(readable, size, wanted)
    return sendEntity(app, request, reply, head, readable, entityOf(preview, row.fileName, size))
  }

  // Built once per preview row (a preview from the row cache is the same
  // object on every request), so its headers are prepared once too; the
  // file name is checked because it comes from the attachment's row.
  const entities = new WeakMap<PreviewRow, { fileName: string, entity: Entity }>()
  function entityOf (preview: PreviewRow, fileName: string, size: number): Entity {
    const known = entities.get(preview)
    if (known?.fileName === fileName) return known.entity
    const entity: Entity = {
      key: preview.storageKey,
      size: preview.sizeBytes,
      etag: preview.etag,
      lastModified: preview.createdAt,
      variant: `preview:${size}:${preview.format}`,
      cacheHeaders,
      headers: {
        'content-type': preview.contentType,
        'content-disposition': contentDisposition('inline', previewFileName(fileName, preview.format)),
        'content-security-policy': INLINE_IMAGE_CSP
      }
    }
    entities.set(preview, { fileName, entity })
    return entity
  }

  /** Waits for the one generation of this preview, up to PREVIEW_WAIT_MS. */
  async function generated ({ row }: Readable, size: number, wanted: WantedFormat): Promise<PreviewRow> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => { timer = setTimeout(() => resolve(TIMED_OUT), config.PREVIEW_WAIT_MS) })
    let result: Ensured | typeof TIMED_OUT
    try {
      result = await Promise.race([app.previews.ensure(row, size, wanted), timeout])
    } catch (err) {
      if (isLockTimeout(err)) throw new PreviewPendingError()
      if (err instanceof ObjectNotFoundError) throw attachmentNotFound('object_missing')
      throw err
    } finally {
      clearTimeout(timer)
    }
    if (result === TIMED_OUT) throw new PreviewPendingError()
    if ('preview' in result) return result.preview
    if (result.state === 'pending') throw new PreviewPendingError()
    throw noPreview(result.reason)
  }
}

function noPreview (reason: string | null) {
  return Object.assign(new NoPreviewError(reason ? ` (${reason})` : ''), { reason: reason ?? 'not_an_image' })
}

export default previewRoutes
