// Object reads (GET and HEAD) and the readiness ping as plain signed HTTP
// requests on node:http, instead of the SDK's commands: the SDK's middleware
// stack costs about 1 ms of CPU per call, the same request signed with the
// SDK's own SigV4 signer about 0.15 ms. node:http rather than undici: its
// native parser costs about half the CPU per byte of a large body (undici
// copies every chunk into its WebAssembly parser), and the module is loaded
// anyway, where undici added about 10 MiB of RSS; a small read costs about
// 20 µs more.
//
// - Keys are URI-encoded as SigV4 wants for S3: every byte but A-Z a-z 0-9
//   - . _ ~ escaped, "/" kept; the signer is told not to encode again.
// - The pool is its own keep-alive Agent, bounded by S3_MAX_SOCKETS; an idle
//   connection is closed after KEEP_ALIVE_IDLE_MS, before S3 would close it,
//   and the most recently used one is reused first.
// - Timeouts: connect (S3_CONNECT_TIMEOUT_MS), headers (S3_REQUEST_TIMEOUT_MS),
//   and a body that brings nothing for S3_SOCKET_TIMEOUT_MS while the service
//   waits for it. A body held back by a slow reader is not idle: its buffer is
//   full, node:http stops reading the socket, TCP pushes back on S3, and
//   nothing is buffered beyond the stream's high-water mark.
// - Destroying the body, or aborting the signal, closes its connection.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { Socket } from 'node:net'
import { SignatureV4 } from '@smithy/signature-v4'
import type { S3Config } from '../config.js'
import { ObjectNotFoundError, StorageUnavailableError, type ByteRange, type ObjectBody, type ObjectInfo } from './storage.js'

/** sha256 of an empty payload: a GET or HEAD has none. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
/** Bytes read of an S3 error document, for its <Code>. */
const ERROR_BODY_LIMIT = 4096
/**
 * The S3 body's buffer (and its socket's): below one socket read (64 KiB),
 * node:http would stop and restart reading the socket for every read of a
 * large body, which costs system calls per chunk.
 */
const BODY_HIGH_WATER_MARK = 64 * 1024
/** S3 closes idle connections after about 20 s; closing first avoids most stale reuses. */
const KEEP_ALIVE_IDLE_MS = 4000

/**
 * The Agent hands a request's options to net.createConnection, so
 * highWaterMark sizes the socket's buffer and the response's (Node's typings
 * do not list it for requests).
 */
interface ReadRequestOptions extends RequestOptions {
  highWaterMark: number
}

export type ReadOutcome = 'ok' | 'not_found' | 'aborted' | 'error'
type Operation = 'GetObject' | 'HeadObject' | 'HeadBucket'
/** Called when a request starts; the returned function when its answer (headers) is in. */
export type ReadObserver = (operation: Operation) => (outcome: ReadOutcome) => void
/** How a failure names the call: "S3 get failed (...)". */
const OPERATION_NAMES: Record<Operation, string> = { GetObject: 'get', HeadObject: 'head', HeadBucket: 'ping' }

export interface ObjectReaderOptions {
  config: S3Config
  /** The credentials provider (the S3 client's too). */
  credentials: ConstructorParameters<typeof SignatureV4>[0]['credentials']
  /** SHA-256 and HMAC-SHA-256 for the signer. */
  sha256: ConstructorParameters<typeof SignatureV4>[0]['sha256']
  observe?: ReadObserver | undefined
}

export interface ObjectReader {
  get (key: string, options?: { range?: ByteRange, signal?: AbortSignal }): Promise<ObjectBody>
  head (key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo | undefined>
  /** HeadBucket: resolves when the bucket answers 200. */
  ping (options?: { signal?: AbortSignal }): Promise<void>
  socketStats (): { active: number, idle: number, queued: number }
  destroy (): void
}

export function createObjectReader ({ config, credentials, sha256, observe }: ObjectReaderOptions): ObjectReader {
  const target = objectTarget(config)
  const url = new URL(target.origin)
  const secure = url.protocol === 'https:'
  const signer = new SignatureV4({ service: 's3', region: config.S3_REGION, credentials, sha256, uriEscapePath: false, applyChecksum: false })
  // `timeout`: the Agent destroys a free socket idle that long, and gives every
  // socket it keeps alive that timer again (watchBody sets its own while a body flows).
  const agentOptions = { keepAlive: true, maxSockets: config.S3_MAX_SOCKETS, scheduling: 'lifo' as const, timeout: KEEP_ALIVE_IDLE_MS }
  const agent = secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions)
  const send = secure ? httpsRequest : httpRequest
  const port = url.port ? Number(url.port) : undefined

  const objectPath = (key: string) => `${target.basePath}/${encodeKey(key)}`
  const bucketPath = target.basePath || '/'

  async function sendWithRetry (method: 'GET' | 'HEAD', path: string, range: ByteRange | undefined, signal: AbortSignal | undefined) {
    try {
      return await sendOnce(method, path, range, signal)
    } catch (err) {
      // A kept-alive connection that S3 closed just as the request went out:
      // the SDK retries this once (maxAttempts 2), and so do the reads.
      if (signal?.aborted || !connectionLost(err)) throw err
      return await sendOnce(method, path, range, signal)
    }
  }

  async function sendOnce (method: 'GET' | 'HEAD', path: string, range: ByteRange | undefined, signal: AbortSignal | undefined): Promise<IncomingMessage> {
    signal?.throwIfAborted()
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(port ? { port } : {}),
      path,
      query: {},
      headers: {
        host: url.host,
        'x-amz-content-sha256': EMPTY_SHA256,
        ...(range ? { range: `bytes=${range.start}-${range.end}` } : {})
      }
    })
    // Signing awaits the credentials: the signal may have fired meanwhile.
    signal?.throwIfAborted()
    const options: ReadRequestOptions = { agent, hostname: url.hostname, port, method, path, headers: signed.headers, highWaterMark: BODY_HIGH_WATER_MARK }
    return await new Promise((resolve, reject) => {
      const req = send(options)
      // The signal as a plain listener, dropped when the request closes (its
      // answer is over): node:http's own `signal` option watches the request
      // with end-of-stream, about 3% of a small read's CPU.
      if (signal) {
        const onAbort = () => req.destroy(abortError(signal))
        signal.addEventListener('abort', onAbort, { once: true })
        req.once('close', () => signal.removeEventListener('abort', onAbort))
      }
      const fail = (err: Error) => {
        clearTimeout(headersTimer)
        req.destroy(err)
      }
      const headersTimer = setTimeout(() => fail(timeoutError('S3_HEADERS_TIMEOUT', `no answer within ${config.S3_REQUEST_TIMEOUT_MS} ms`)), config.S3_REQUEST_TIMEOUT_MS)
      req.once('socket', (socket: Socket) => {
        if (!socket.connecting) return
        const connectTimer = setTimeout(() => fail(timeoutError('S3_CONNECT_TIMEOUT', `not connected within ${config.S3_CONNECT_TIMEOUT_MS} ms`)), config.S3_CONNECT_TIMEOUT_MS)
        socket.once('connect', () => clearTimeout(connectTimer))
        socket.once('close', () => clearTimeout(connectTimer))
      })
      req.once('error', (err) => {
        clearTimeout(headersTimer)
        reject(err)
      })
      req.once('response', (res) => {
        clearTimeout(headersTimer)
        watchBody(req, res, config.S3_SOCKET_TIMEOUT_MS)
        resolve(res)
      })
      req.end()
    })
  }

  /**
   * One read, told to the observer (the S3 metrics) with its outcome: `run`
   * gives its value and outcome; a missing object and StorageUnavailableError
   * pass through, any other failure becomes StorageUnavailableError.
   */
  async function observed<T> (operation: Operation, signal: AbortSignal | undefined, run: () => Promise<[T, ReadOutcome]>): Promise<T> {
    const done = observe?.(operation)
    let outcome: ReadOutcome = 'error'
    try {
      const [value, result] = await run()
      outcome = result
      return value
    } catch (err) {
      if (err instanceof ObjectNotFoundError) outcome = 'not_found'
      if (signal?.aborted) outcome = 'aborted'
      if (err instanceof ObjectNotFoundError || err instanceof StorageUnavailableError) throw err
      throw unavailable(OPERATION_NAMES[operation], err)
    } finally {
      done?.(outcome)
    }
  }

  return {
    get: (key, { range, signal } = {}) => observed('GetObject', signal, async () => {
      const res = await sendWithRetry('GET', objectPath(key), range, signal)
      if (res.statusCode === 404) {
        res.resume()
        throw new ObjectNotFoundError(key)
      }
      if (res.statusCode !== (range ? 206 : 200)) throw unavailable('get', await failureOf(res))
      const contentLength = Number(res.headers['content-length'])
      // A server that ignored the range, or a length that disagrees with it,
      // would put the wrong bytes in a 206.
      if (!Number.isSafeInteger(contentLength) || (range && contentLength !== range.end - range.start + 1)) {
        res.destroy()
        throw unavailable('get', new Error(`Content-Length ${String(res.headers['content-length'])} does not match the requested range`))
      }
      return [{ body: res, contentLength }, 'ok']
    }),

    head: (key, { signal } = {}) => observed('HeadObject', signal, async () => {
      const res = await sendWithRetry('HEAD', objectPath(key), undefined, signal)
      res.resume()
      if (res.statusCode === 404) return [undefined, 'not_found']
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`)
      const lastModified = new Date(String(res.headers['last-modified']))
      const info: ObjectInfo = { key, size: Number(res.headers['content-length'] ?? 0), lastModified: Number.isNaN(lastModified.getTime()) ? new Date(0) : lastModified }
      return [info, 'ok']
    }),

    ping: ({ signal } = {}) => observed('HeadBucket', signal, async () => {
      const res = await sendWithRetry('HEAD', bucketPath, undefined, signal)
      res.resume()
      if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}${res.statusCode === 404 ? ' (no such bucket)' : ''}`)
      return [undefined, 'ok']
    }),

    socketStats () {
      const count = (table: NodeJS.ReadOnlyDict<unknown[]>) => Object.values(table).reduce((n, list) => n + (list?.length ?? 0), 0)
      return { active: count(agent.sockets), idle: count(agent.freeSockets), queued: count(agent.requests) }
    },

    destroy () {
      agent.destroy()
    }
  }
}

/**
 * A body that brings nothing for `idleMs` while the service waits for it
 * fails with S3_BODY_TIMEOUT. While its buffer is full the service is the
 * slow side (node:http has stopped reading the socket), so the clock waits.
 */
function watchBody (req: ClientRequest, res: IncomingMessage, idleMs: number): void {
  const socket = res.socket
  if (!socket) return
  const onTimeout = () => {
    if (res.complete) return
    if (res.isPaused() || res.readableLength >= res.readableHighWaterMark) {
      socket.setTimeout(idleMs)
      return
    }
    res.destroy(timeoutError('S3_BODY_TIMEOUT', `the body brought nothing for ${idleMs} ms`))
    req.destroy()
  }
  socket.setTimeout(idleMs, onTimeout)
  res.once('close', () => socket.off('timeout', onTimeout))
}

/** What node:http's `signal` option fails a request with. */
function abortError (signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' })
}

function timeoutError (code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

/** Origin and path prefix of the bucket, addressed as the SDK would address it. */
export function objectTarget (config: Pick<S3Config, 'S3_BUCKET' | 'S3_REGION' | 'S3_ENDPOINT' | 'S3_FORCE_PATH_STYLE'>): { origin: string, basePath: string } {
  const bucket = config.S3_BUCKET
  const endpoint = new URL(config.S3_ENDPOINT || `https://s3.${config.S3_REGION}.amazonaws.com`)
  const prefix = endpoint.pathname.replace(/\/+$/, '')
  // Like the SDK: path style when asked, for an IP address, and for a bucket
  // name that is not a valid host label (dots break the TLS wildcard).
  const ip = /^\d+\.\d+\.\d+\.\d+$|^\[/.test(endpoint.hostname)
  const hostable = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket) || (endpoint.protocol === 'http:' && /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
  if (config.S3_FORCE_PATH_STYLE || ip || !hostable) return { origin: endpoint.origin, basePath: `${prefix}/${encodeKey(bucket)}` }
  return { origin: `${endpoint.protocol}//${bucket}.${endpoint.host}`, basePath: prefix }
}

/** UriEncode of the SigV4 spec for an S3 object key: "/" kept, everything outside A-Z a-z 0-9 - . _ ~ escaped. */
export function encodeKey (key: string): string {
  return encodeURIComponent(key)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/')
}

/** The connection closed or reset before any answer: safe to send a GET or HEAD again. */
function connectionLost (err: unknown): boolean {
  const code = err instanceof Error && 'code' in err ? err.code : undefined
  return code === 'ECONNRESET' || code === 'EPIPE'
}

/** The S3 error code of a failed answer, from its XML body (read up to a few KiB). */
async function failureOf (res: IncomingMessage): Promise<Error> {
  let text = ''
  try {
    for await (const chunk of res) {
      text += String(chunk)
      if (text.length > ERROR_BODY_LIMIT) break
    }
  } catch {}
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1]
  return new Error(`HTTP ${res.statusCode}${code ? ` ${code}` : ''}`)
}

/** "S3 <operation> failed (<cause>)": how every S3 failure reaches the caller (the SDK's calls too). */
export function unavailable (operation: string, cause: unknown): StorageUnavailableError {
  const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
  return new StorageUnavailableError(`S3 ${operation} failed (${detail})`, { cause })
}
