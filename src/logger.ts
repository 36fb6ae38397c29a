import type { FastifyRequest } from 'fastify'
import type { DestinationStream, LoggerOptions } from 'pino'

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

const TOKEN_PARAM = /([?&](?:access_)?token=)[^&#]*/gi

export function redactUrl (url: string): string {
  return url.replace(TOKEN_PARAM, '$1[REDACTED]')
}

export function loggerOptions (options: LogOptions): LoggerOptions & { stream?: DestinationStream } {
  return {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      req (request: FastifyRequest) {
        return {
          method: request.method,
          url: redactUrl(request.url),
          host: request.host,
          remoteAddress: request.ip,
          remotePort: request.socket?.remotePort
        }
      }
    },
    ...(options.stream ? { stream: options.stream } : {}),
    ...(options.pretty && !options.stream ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {})
  }
}
