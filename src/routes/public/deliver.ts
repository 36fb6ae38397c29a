// The steps every browser read shares (the original and its previews):
// who may read which row (401, one indistinguishable 404), then the bytes
// of one stored object: preconditions (304/412) and range (206/416) from the
// row, HEAD without S3, small bodies from memory when kept with their row,
// bounded streams, and the read audit.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { GrantedBy } from '../../audit/recorder.js'
import type { AttachmentRow } from '../../db/schema.js'
import {
  attachmentNotFound, BusyError, invalidToken, missingToken, PreconditionFailedError, RangeNotSatisfiableError, TooManyDownloadsError
} from '../../errors.js'
import { evaluatePreconditions, httpDate, ifRangeMatches } from '../../http/conditional.js'
import { parseRange, type RangeResult } from '../../http/range.js'
import type { TokenClaims } from '../../plugins/auth.js'
import { ID_REGEX } from '../../schemas/common.js'
import { ObjectNotFoundError, StorageUnavailableError } from '../../storage/storage.js'
import { BODY_CACHE_ITEM_MAX } from '../../db/row-cache.js'
import { readWhole } from '../../http/read-whole.js'
import { stringField } from '../../fields.js'
import { accessOf, countSent } from './audit-access.js'
import { rateLimitSubject, readAccess } from './viewer.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const NIL_UUID = '00000000-0000-0000-0000-000000000000'
const FULL: RangeResult = { kind: 'full' }
/** Bodies up to this size are sent in one write (see sendEntity); the S3 stream buffers as much. */
const WHOLE_BODY_MAX = 64 * 1024

class ClientGoneError extends Error {
  readonly statusCode = 499
  readonly code = 'ATT_CLIENT_GONE'
}

export interface Readable {
  row: AttachmentRow
  granted: GrantedBy
  claims: TokenClaims
}

/** The row a browser request may read, or the error it gets (401, or the common 404). */
export async function findReadable (app: FastifyInstance, request: FastifyRequest, params: { dialogId: string, attachmentId: string }): Promise<Readable> {
  const viewer = request.viewer
  const claims = viewer?.claims
  if (!claims) throw viewer?.presented ? invalidToken(viewer.refusal) : missingToken()

  // Malformed ids run the same lookup as unknown ones, so no 404 answers
  // faster than another.
  const { dialogId, attachmentId } = params
  const wellFormed = ID_REGEX.test(dialogId) && UUID.test(attachmentId)
  const row = await app.attachments.findById(wellFormed ? attachmentId : NIL_UUID)
  if (!wellFormed) throw attachmentNotFound('malformed_id')
  if (!row) throw attachmentNotFound('unknown_id')
  if (row.dialogId !== dialogId) throw attachmentNotFound('wrong_dialog')
  const access = readAccess(claims, row)
  if ('denied' in access) throw attachmentNotFound(access.denied)
  if (await app.revocations.revoked(claims, row.dialogId, row.ownerId)) throw attachmentNotFound('revoked')
  if (row.status === 'DELETING') throw attachmentNotFound('being_deleted')
  return { row, granted: access.granted, claims }
}

/** One stored object as answered: its validators and headers come from a row. */
export interface Entity {
  key: string
  size: number
  etag: string
  lastModified: Date
  /** "original", or "preview:<size>:<format>" (read audit). */
  variant: string
  /** Sent with every answer of this entity, 304 included (Cache-Control, Vary). */
  cacheHeaders: Record<string, string>
  /** Sent with 200/206 and HEAD: type, disposition, CSP. */
  headers: Record<string, string>
}

/** What an entity's answers share, computed once per entity object. */
interface Prepared {
  validators: { etag: string, lastModified: Date }
  /** The 304's headers: those RFC 9110 §15.4.5 asks for, nothing more. */
  notModifiedHeaders: Record<string, string>
  /** A full 200's (and HEAD's) headers. */
  fullHeaders: Record<string, string>
}
const prepared = new WeakMap<Entity, Prepared>()

// Entities built once per row (a cached row is the same object on every
// request) are prepared once too.
function prepare (entity: Entity): Prepared {
  let ready = prepared.get(entity)
  if (!ready) {
    // A 304 carries what a 200 would of Cache-Control, Vary and ETag (and
    // Date) and SHOULD NOT carry other metadata (RFC 9110 §15.4.5): a cache
    // merges its headers into the stored response (RFC 9111 §4.3.4), so
    // anything else sent here would overwrite what the 200 said.
    const notModifiedHeaders = { ...entity.cacheHeaders, etag: entity.etag }
    ready = {
      validators: { etag: entity.etag, lastModified: entity.lastModified },
      notModifiedHeaders,
      fullHeaders: { ...notModifiedHeaders, 'last-modified': httpDate(entity.lastModified), ...entity.headers, 'accept-ranges': 'bytes', 'content-length': String(entity.size) }
    }
    prepared.set(entity, ready)
  }
  return ready
}

/** Answers GET or HEAD for one object of a readable row. */
export async function sendEntity (app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, head: boolean, readable: Readable, entity: Entity) {
  const { row, granted } = readable
  const config = app.config
  const { validators, notModifiedHeaders, fullHeaders } = prepare(entity)
  const precondition = evaluatePreconditions(request.headers, validators)
  if (precondition === 'not-modified') {
    app.audit?.revalidated(accessOf(request, row, granted, entity.variant))
    return reply.code(304).headers(notModifiedHeaders).send()
  }
  if (precondition === 'failed') throw new PreconditionFailedError()

  // RFC 9110 §14.2: Range is defined for GET only; If-Range with a stale
  // validator means "send it all".
  const size = entity.size
  const ifRange = request.headers['if-range']
  const rangeApplies = !head && (ifRange === undefined || (typeof ifRange === 'string' && ifRangeMatches(ifRange, validators)))
  const range = rangeApplies ? parseRange(request.headers.range, size) : FULL
  if (range.kind === 'unsatisfiable') {
    reply.header('content-range', `bytes */${size}`)
    throw new RangeNotSatisfiableError()
  }
  const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, size - 1]
  const length = Math.max(0, end - start + 1)
  const headers: Record<string, string> = range.kind === 'partial'
    ? { ...fullHeaders, 'content-length': String(length), 'content-range': `bytes ${start}-${end}/${size}` }
    : fullHeaders
  const status = range.kind === 'partial' ? 206 : 200
  if (head || length === 0) {
    if (!head) app.audit?.record(accessOf(request, row, granted, entity.variant), status, 0)
    return reply.code(status).headers(headers).send(head ? undefined : '')
  }

  // One count of the bytes handed over, for the metric and the read audit,
  // settled when the response is over (complete or not).
  // Who read is taken now: the connection's address is gone once it closes.
  const audit = app.audit
  const access = audit ? accessOf(request, row, granted, entity.variant) : undefined
  const settle = (bytes: number) => {
    app.metrics.http.downloadBytes.inc(bytes)
    if (audit && access) audit.record(access, status, bytes)
  }

  // A small body kept with its cached row (src/db/row-cache.ts) is answered
  // from memory: one write and no S3 request, so it takes no download slot.
  const cache = size <= BODY_CACHE_ITEM_MAX ? app.rowCache : undefined
  const kept = cache?.body(row.id, entity.key)
  if (kept?.length === size) {
    const part = range.kind === 'partial' ? kept.subarray(start, end + 1) : kept
    cutWhenStalled(request, reply, config.DOWNLOAD_STALL_MS)
    reply.raw.once('close', () => settle(part.length))
    return reply.code(status).headers(headers).send(part)
  }

  // Bounded: streams per viewer (429) and per instance (503). The slot is
  // held until the response is finished or the connection is gone.
  const release = app.slots.downloads.acquire(rateLimitSubject(request.viewer) ?? `ip:${request.ip}`)
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
  cutWhenStalled(request, reply, config.DOWNLOAD_STALL_MS)
  // Taken before the read: bytes read across a change of the row are not kept.
  const token = cache?.begin()
  let object
  try {
    object = await app.storage.get(entity.key, { ...(range.kind === 'partial' ? { range: { start, end } } : {}), signal: controller.signal })
  } catch (err) {
    if (controller.signal.aborted) throw new ClientGoneError('client closed the request')
    if (err instanceof ObjectNotFoundError) {
      request.log.error({ attachmentId: row.id, key: entity.key }, 'the object of an existing attachment is missing')
      throw attachmentNotFound('object_missing')
    }
    throw err
  }
  if (object.contentLength !== length) {
    object.body.destroy()
    throw new Error(`storage sent ${object.contentLength} bytes for ${entity.key}, expected ${length}`)
  }
  if (length <= WHOLE_BODY_MAX) {
    // Most reads are small images: a body no larger than the stream's own
    // buffer is read to its end and answered in one write, which saves the
    // stream plumbing per response (memory per request is the same bound). A
    // body that fails before its end gets a 503 rather than a cut 200.
    let bytes: Buffer
    try {
      bytes = await readWhole(object.body, length)
    } catch (err) {
      if (controller.signal.aborted) throw new ClientGoneError('client closed the request')
      throw new StorageUnavailableError(`S3 get failed while reading ${entity.key} (${stringField(err, 'message') ?? 'unknown'})`, { cause: err })
    }
    if (cache && token !== undefined && range.kind === 'full') cache.setBody(row.id, row, entity.key, bytes, token)
    reply.raw.once('close', () => settle(bytes.length))
    return reply.code(status).headers(headers).send(bytes)
  }
  countSent(reply, object.body, settle)
  return reply.code(status).headers(headers).send(object.body)
}

/** A client that reads nothing for stallMs is cut, which releases what its answer holds. */
function cutWhenStalled (request: FastifyRequest, reply: FastifyReply, stallMs: number): void {
  reply.raw.setTimeout(stallMs, () => {
    request.log.info({ stallMs }, 'download stalled: the client read nothing, connection closed')
    reply.raw.destroy()
  })
}
