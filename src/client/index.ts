// The typed client of the main chat app (package export "./client"): the
// internal API over Node's fetch, uploads streamed as multipart, and browser
// links with a short-lived dialog token. No dependency beyond Node itself;
// the types come from the service's OpenAPI document (openapi-types.ts).
import { attachmentUrl, INTERNAL_PREFIX } from '../routes/paths.js'
import { ClientError, errorFrom } from './errors.js'
import { mintLinkToken } from './link-token.js'
import { multipartBody, openFile, type FileSource } from './multipart.js'
import type { components, operations } from './openapi-types.js'

export { ClientError, type ErrorBody, type ErrorCode, type ServiceErrorCode } from './errors.js'
export type { FileSource } from './multipart.js'
export type { components, operations, paths } from './openapi-types.js'

export type Attachment = components['schemas']['Attachment']
export type MessageAttachments = components['schemas']['MessageAttachments']
type LinkRequest = components['schemas']['LinkRequest']
type DialogErased = components['schemas']['DialogErased']
type UploadQuery = NonNullable<operations['uploadStage']['parameters']['query']>
// The form's file part, named as the document names it (UploadForm).
const FILE_FIELD = 'file' satisfies keyof components['schemas']['UploadForm']

/** The service's default QUERY_TOKEN_MAX_TTL_SECONDS. */
export const DEFAULT_LINK_MAX_TTL_SECONDS = 600

export interface AttachmentsClientOptions {
  /** Where the chat app reaches the service, e.g. http://chat-attachments:3000 */
  baseUrl: string | URL
  /** A service token (scope attachments:write), or a function giving a current one. */
  serviceToken: string | (() => string | Promise<string>)
  /** Where browsers reach the service, for viewerUrl (default: baseUrl). */
  publicUrl?: string | URL
  /** Signs viewer links: the service's JWT_SECRET, and its JWT_ISSUER / JWT_AUDIENCE when set. */
  linkKey?: string
  issuer?: string
  audience?: string
  /** The service's QUERY_TOKEN_MAX_TTL_SECONDS when it is not the default 600. */
  linkMaxTtlSeconds?: number
  /** Gives up on a JSON call after this long (default 30 s); uploads are bounded by their signal only. */
  timeoutMs?: number
  /** Another fetch (default: the global one). */
  fetch?: typeof fetch
}

export interface UploadOptions {
  /** The user who owns the dialog. */
  ownerId: string
  /** Who sent the file (default ownerId). */
  uploadedBy?: string
  /** Default: the path's base name, else "file". The service keeps it, sanitised. */
  fileName?: string
  /** The declared type; the service detects the real one from the bytes. */
  contentType?: string
  signal?: AbortSignal
}

export interface CallOptions {
  signal?: AbortSignal
}

export class AttachmentsClient {
  readonly #base: URL
  readonly #public: URL
  readonly #options: AttachmentsClientOptions
  readonly #fetch: typeof fetch

  constructor (options: AttachmentsClientOptions) {
    this.#options = options
    this.#base = withSlash(options.baseUrl)
    this.#public = withSlash(options.publicUrl ?? options.baseUrl)
    this.#fetch = options.fetch ?? globalThis.fetch
  }

  /**
   * Upload-stages one file: streamed as multipart/form-data as it is read,
   * never held in memory. A path is sent with its Content-Length, so an
   * oversized file is refused (413) before its bytes travel.
   */
  async uploadStage (dialogId: string, file: FileSource, options: UploadOptions): Promise<Attachment> {
    const part = await openFile(file, options.fileName, options.contentType)
    const query: UploadQuery = { ownerId: options.ownerId, ...(options.uploadedBy === undefined ? {} : { uploadedBy: options.uploadedBy }) }
    const { body, contentType, length, close } = multipartBody([], part, FILE_FIELD)
    const url = this.#url(`dialogs/${segment(dialogId)}/attachments`, query)
    const headers: Record<string, string> = { 'content-type': contentType, ...(length === undefined ? {} : { 'content-length': String(length) }) }
    try {
      return await this.#call<Attachment>('POST', url, { headers, body, duplex: 'half', ...(options.signal ? { signal: options.signal } : {}) })
    } finally {
      // The service may answer (413, 415) before reading the whole body.
      close()
    }
  }

  /** Links staged attachments to a message: all or nothing (404, 409 otherwise); again to the same message is a no-op. */
  async link (dialogId: string, messageId: string, attachmentIds: string[], options: CallOptions = {}): Promise<Attachment[]> {
    const request: LinkRequest = { messageId, attachmentIds }
    const url = this.#url(`dialogs/${segment(dialogId)}/attachments/link`)
    return (await this.#json<MessageAttachments>('POST', url, options, request)).attachments
  }

  /** One attachment's metadata; ClientError 404 ATT_NOT_FOUND when it is not in this dialog. */
  async get (dialogId: string, attachmentId: string, options: CallOptions = {}): Promise<Attachment> {
    return this.#json<Attachment>('GET', this.#url(`dialogs/${segment(dialogId)}/attachments/${segment(attachmentId)}`), options)
  }

  /** The attachments of one message, oldest first (none: an empty list). */
  async list (dialogId: string, messageId: string, options: CallOptions = {}): Promise<Attachment[]> {
    const url = this.#url(`dialogs/${segment(dialogId)}/attachments`, { messageId })
    return (await this.#json<MessageAttachments>('GET', url, options)).attachments
  }

  /** Deletes one attachment: true when deleted now, false when it was not there (a retry after success). */
  async delete (dialogId: string, attachmentId: string, options: CallOptions = {}): Promise<boolean> {
    try {
      await this.#json<null>('DELETE', this.#url(`dialogs/${segment(dialogId)}/attachments/${segment(attachmentId)}`), options)
      return true
    } catch (err) {
      if (err instanceof ClientError && err.status === 404 && err.code === 'ATT_NOT_FOUND') return false
      throw err
    }
  }

  /** Erases every attachment of a dialog; resolves with how many were deleted. */
  async deleteDialog (dialogId: string, options: CallOptions = {}): Promise<number> {
    return (await this.#json<DialogErased>('DELETE', this.#url(`dialogs/${segment(dialogId)}/attachments`), options)).deleted
  }

  /**
   * A URL a browser opens without any other credential: the attachment's
   * bytes with a link token for its dialog, valid ttlSeconds (default 300,
   * at most the service's QUERY_TOKEN_MAX_TTL_SECONDS). A lifetime the
   * service would refuse is refused here (RangeError), before signing.
   */
  viewerUrl (dialogId: string, attachmentId: string, { ttlSeconds = 300, download = false }: { ttlSeconds?: number, download?: boolean } = {}): string {
    const key = this.#options.linkKey
    if (key === undefined) throw new TypeError('viewerUrl needs the linkKey option (the service\'s JWT_SECRET)')
    const token = mintLinkToken({
      key,
      maxTtlSeconds: this.#options.linkMaxTtlSeconds ?? DEFAULT_LINK_MAX_TTL_SECONDS,
      ...(this.#options.issuer === undefined ? {} : { issuer: this.#options.issuer }),
      ...(this.#options.audience === undefined ? {} : { audience: this.#options.audience })
    }, dialogId, ttlSeconds)
    const url = new URL(attachmentUrl(segment(dialogId), segment(attachmentId)).slice(1), this.#public)
    if (download) url.searchParams.set('download', '1')
    url.searchParams.set('token', token)
    return url.toString()
  }

  #url (path: string, query: Record<string, string> = {}): URL {
    const url = new URL(`${INTERNAL_PREFIX.slice(1)}/${path}`, this.#base)
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value)
    return url
  }

  async #json<T> (method: string, url: URL, options: CallOptions, body?: unknown): Promise<T> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs ?? 30_000)
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
    return this.#call<T>(method, url, {
      signal,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    })
  }

  async #call<T> (method: string, url: URL, init: RequestInit & { headers?: Record<string, string> }): Promise<T> {
    const token = typeof this.#options.serviceToken === 'function' ? await this.#options.serviceToken() : this.#options.serviceToken
    let response: Response
    try {
      response = await this.#fetch(url, { ...init, method, headers: { accept: 'application/json', ...init.headers, authorization: `Bearer ${token}` } })
    } catch (err) {
      throw new ClientError(0, 'CLIENT_NETWORK', `${method} ${url.pathname} failed: ${(err as Error).message}`, { cause: err })
    }
    if (!response.ok) throw await errorFrom(response)
    if (response.status === 204) return null as T
    try {
      return await response.json() as T
    } catch (err) {
      throw new ClientError(response.status, 'CLIENT_BAD_RESPONSE', `${method} ${url.pathname}: the answer is not JSON`, { cause: err })
    }
  }
}

/** An id as one path segment: ids are URL-safe, anything else is escaped rather than trusted. */
function segment (id: string): string {
  return encodeURIComponent(id)
}

function withSlash (url: string | URL): URL {
  const parsed = new URL(url)
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/'
  return parsed
}
