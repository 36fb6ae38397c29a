import type { FastifyRequest } from 'fastify'
import type { DestinationStream, LoggerOptions } from 'pino'
import { isPublicPath } from './routes/paths.js'

export interface LogOptions {
  level: string
  /** Where JSON lines go (tests capture them); stdout when absent. */
  stream?: DestinationStream
  /** Human-readable output, for a terminal only. */
  pretty?: boolean
}

// Bearer tokens, cookies and query tokens never reach a log line.
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie'
]
export const REDACTED = '[REDACTED]'

// Three base64url segments joined by dots: the shape of a JWT (JWS), wherever
// it appears, whatever parameter carries it.
const JWT_SHAPE = /[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g
// Enough rounds to see through double and triple percent-encoding.
const DECODE_ROUNDS = 4
// Longer parameter names are not kept even when redacted (a name can carry
// a value: `token%3D<jwt>` is one name).
const MAX_KEPT_NAME = 32

/**
 * The URL as it may be logged. A query parameter is judged by what the
 * query parser will make of it, not by its spelling: `%74oken=`, `TOKEN=`,
 * `token[]=`, `token%3D<jwt>` all decode to a name that says "token", and
 * are dropped whole; any name or value that decodes to something shaped like
 * a JWT is dropped too. Browser routes (/v1/) carry link tokens in their
 * query, so their URLs are logged without any query string at all.
 */
export function redactUrl (url: string): string {
  const mark = url.indexOf('?')
  const path = scrub(mark === -1 ? url : url.slice(0, mark))
  if (mark === -1) return path
  if (isPublicPath(path)) return path
  const pairs = url.slice(mark + 1).split('&').map((pair) => {
    const equals = pair.indexOf('=')
    const rawName = equals === -1 ? pair : pair.slice(0, equals)
    const name = decodeFully(rawName)
    const value = equals === -1 ? '' : decodeFully(pair.slice(equals + 1))
    if (hasJwtShape(name) || rawName.length > MAX_KEPT_NAME) return REDACTED
    if (/token/i.test(name) || hasJwtShape(value)) return `${rawName}=${REDACTED}`
    return pair
  })
  return `${path}?${pairs.join('&')}`
}

/** Removes anything shaped like a JWT from a string (a path, a host). */
export function scrub (text: string): string {
  return hasJwtShape(decodeFully(text)) ? decodeFully(text).replace(JWT_SHAPE, REDACTED) : text
}

function hasJwtShape (text: string): boolean {
  JWT_SHAPE.lastIndex = 0
  return JWT_SHAPE.test(text)
}

function decodeFully (text: string): string {
  let current = text.replaceAll('+', ' ')
  for (let round = 0; round < DECODE_ROUNDS && current.includes('%'); round++) {
    const next = safeDecode(current)
    if (next === current) break
    current = next
  }
  return current
}

/** Percent-decoding that never throws: malformed escapes stay as they are. */
function safeDecode (text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run)
      } catch {
        return run
      }
    })
  }
}

export function loggerOptions (options: LogOptions): LoggerOptions & { stream?: DestinationStream } {
  return {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: {
      req (request: FastifyRequest) {
        return {
          method: request.method,
          url: redactUrl(request.url),
          host: scrub(request.host ?? ''),
          remoteAddress: request.ip,
          remotePort: request.socket?.remotePort
        }
      }
    },
    ...(options.stream ? { stream: options.stream } : {}),
    ...(options.pretty && !options.stream ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {})
  }
}
