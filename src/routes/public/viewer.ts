// Who is asking: the token of a browser request, from (in this order) the
// Authorization header, the JWT_COOKIE_NAME cookie, or the `token` query
// parameter, and whether it may read an attachment.
import { parse as parseCookies } from 'cookie'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../../config.js'
import type { AttachmentRow } from '../../db/schema.js'
import type { GrantedBy } from '../../audit/recorder.js'
import type { DenialReason } from '../../errors.js'
import {
  bearerToken, hasScope, lifetimeRefusal, linkTokenRefusal, verifyToken, WRITE_SCOPE,
  type LifetimeRules, type TokenClaims, type TokenRefusal
} from '../../plugins/auth.js'
import { fieldOf } from '../../fields.js'

export const READ_ANY_SCOPE = 'attachments:read:any'

export type TokenSource = 'header' | 'cookie' | 'query'

export interface Viewer {
  /** Claims of an accepted token; undefined when there is none or it was refused. */
  claims?: TokenClaims
  /** Whether a token was presented at all (401 says which case). */
  presented: boolean
  source?: TokenSource
  /** Why a presented token was refused (for the log line). */
  refusal?: TokenRefusal | 'repeated_query_token'
}

type ViewerConfig = Pick<Config, 'JWT_COOKIE_NAME' | 'QUERY_TOKEN_MAX_TTL_SECONDS' | 'TOKEN_MAX_TTL_SECONDS' | 'TOKEN_CLOCK_SKEW_SECONDS'>

function findToken (request: FastifyRequest, cookieName: string): { token: string, source: TokenSource } | undefined {
  const header = bearerToken(request.headers.authorization)
  if (header) return { token: header, source: 'header' }
  const cookie = request.headers.cookie ? parseCookies(request.headers.cookie)[cookieName] : undefined
  if (cookie) return { token: cookie, source: 'cookie' }
  // identify() runs in onRequest, before any route's schema has validated
  // the query and params, and for every path under the prefix.
  const query = fieldOf(request.query, 'token')
  if (typeof query === 'string' && query !== '') return { token: query, source: 'query' }
  // A repeated ?token= (an array) is not a token: 401, never 400.
  if (query !== undefined) return { token: '', source: 'query' }
  return undefined
}

export function identify (app: FastifyInstance, request: FastifyRequest, config: ViewerConfig): Viewer {
  const found = findToken(request, config.JWT_COOKIE_NAME)
  if (!found) return { presented: false }
  const { source } = found
  if (found.token === '') return { presented: true, source, refusal: 'repeated_query_token' }
  const verified = verifyToken(app, found.token)
  if ('refusal' in verified) return { presented: true, source, refusal: verified.refusal }
  const { claims } = verified
  const rules: LifetimeRules = { maxTtlSeconds: config.TOKEN_MAX_TTL_SECONDS, clockSkewSeconds: config.TOKEN_CLOCK_SKEW_SECONDS }
  const now = Date.now() / 1000
  const param = fieldOf(request.params, 'dialogId')
  const dialogId = typeof param === 'string' ? param : undefined
  const refusal = lifetimeRefusal(claims, rules, now) ??
    (source === 'query' ? linkTokenRefusal(claims, dialogId, config.QUERY_TOKEN_MAX_TTL_SECONDS, rules, now) : undefined)
  if (refusal) return { presented: true, source, refusal }
  return { presented: true, source, claims }
}

/**
 * How a reader may read an attachment: its owner, a support agent, or a link
 * token for this dialog; otherwise the reason of the denial, which only logs
 * and metrics ever see.
 */
export function readAccess (claims: TokenClaims, row: Pick<AttachmentRow, 'ownerId' | 'dialogId'>): { granted: GrantedBy } | { denied: DenialReason } {
  if (typeof claims.sub === 'string' && claims.sub === row.ownerId) return { granted: 'owner' }
  if (hasScope(claims, READ_ANY_SCOPE)) return { granted: 'read_any' }
  if (typeof claims.dlg === 'string' && claims.dlg === row.dialogId) return { granted: 'dialog_link' }
  return { denied: hasScope(claims, WRITE_SCOPE) ? 'service_token' : 'no_access' }
}

/** Who read, for the audit: the token's sub, else its dialog link. */
export function viewerName (claims: TokenClaims): string {
  return typeof claims.sub === 'string' ? claims.sub : `dlg:${String(claims.dlg)}`
}

/** The budget a request is counted against: the user, else (anonymous) none. */
export function rateLimitSubject (viewer: Viewer | null): string | undefined {
  const claims = viewer?.claims
  if (!claims) return undefined
  if (typeof claims.sub === 'string') return `sub:${claims.sub}`
  return typeof claims.dlg === 'string' ? `dlg:${claims.dlg}` : undefined
}
