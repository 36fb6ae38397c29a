// Who is asking: the token of a browser request, from (in this order) the
// Authorization header, the JWT_COOKIE_NAME cookie, or the `token` query
// parameter, and whether it may read an attachment.
import { parse as parseCookies } from 'cookie'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../../config.js'
import type { AttachmentRow } from '../../db/schema.js'
import { bearerToken, hasScope, type TokenClaims } from '../../plugins/auth.js'

export const READ_ANY_SCOPE = 'attachments:read:any'

export type TokenSource = 'header' | 'cookie' | 'query'

export interface Viewer {
  /** Claims of an accepted token; undefined when there is none or it was refused. */
  claims?: TokenClaims
  /** Whether a token was presented at all (401 says which case). */
  presented: boolean
}

type ViewerConfig = Pick<Config, 'JWT_COOKIE_NAME' | 'QUERY_TOKEN_MAX_TTL_SECONDS'>

function findToken (request: FastifyRequest, cookieName: string): { token: string, source: TokenSource } | undefined {
  const header = bearerToken(request.headers.authorization)
  if (header) return { token: header, source: 'header' }
  const cookie = request.headers.cookie ? parseCookies(request.headers.cookie)[cookieName] : undefined
  if (cookie) return { token: cookie, source: 'cookie' }
  const query = (request.query as Record<string, unknown> | undefined)?.token
  if (typeof query === 'string' && query !== '') return { token: query, source: 'query' }
  // A repeated ?token= is not a token.
  if (query !== undefined) return { token: '', source: 'query' }
  return undefined
}

/**
 * A token in a URL ends up in histories, proxies and Referer headers, so it
 * must be a dialog-scoped link token for this very dialog, short-lived.
 */
function queryTokenAcceptable (claims: TokenClaims, dialogId: string | undefined, maxTtlSeconds: number): boolean {
  return typeof claims.dlg === 'string' && claims.dlg === dialogId &&
    typeof claims.iat === 'number' && typeof claims.exp === 'number' &&
    claims.exp - claims.iat <= maxTtlSeconds
}

export function identify (app: FastifyInstance, request: FastifyRequest, config: ViewerConfig): Viewer {
  const found = findToken(request, config.JWT_COOKIE_NAME)
  if (!found) return { presented: false }
  let claims: TokenClaims
  try {
    claims = app.jwt.verify<TokenClaims>(found.token)
  } catch {
    return { presented: true }
  }
  const dialogId = (request.params as { dialogId?: string } | undefined)?.dialogId
  if (found.source === 'query' && !queryTokenAcceptable(claims, dialogId, config.QUERY_TOKEN_MAX_TTL_SECONDS)) {
    return { presented: true }
  }
  return { presented: true, claims }
}

/** The owner, a support agent, or a link token for this dialog. */
export function canRead (claims: TokenClaims, row: AttachmentRow): boolean {
  return (typeof claims.sub === 'string' && claims.sub === row.ownerId) ||
    hasScope(claims, READ_ANY_SCOPE) ||
    (typeof claims.dlg === 'string' && claims.dlg === row.dialogId)
}

/** The budget a request is counted against: the user, else (anonymous) none. */
export function rateLimitSubject (viewer: Viewer | null): string | undefined {
  const claims = viewer?.claims
  if (!claims) return undefined
  if (typeof claims.sub === 'string') return `sub:${claims.sub}`
  return typeof claims.dlg === 'string' ? `dlg:${claims.dlg}` : undefined
}
