// Tokens signed with the development key (JWT_SECRET, HS256), with the
// claims the service checks (README "Tokens"): for `npm run dev`'s banner and
// for `npm run token`.
import { createSigner } from 'fast-jwt'

export interface TokenSettings {
  JWT_SECRET?: string
  JWT_ISSUER?: string
  JWT_AUDIENCE?: string
}

export type TokenKind =
  | { kind: 'service' }
  /** A user: reads the attachments of the dialogs they own. */
  | { kind: 'viewer', sub: string }
  /** A support agent: reads every attachment. */
  | { kind: 'agent', sub: string }
  /** A link token for ?token=: reads one dialog's attachments, short-lived. */
  | { kind: 'link', dialogId: string }

export const SERVICE_SUBJECT = 'chat-app'

/** Signs a token of `kind` valid for ttlSeconds; undefined without a JWT_SECRET (a public key cannot sign). */
export function mintToken (settings: TokenSettings, token: TokenKind, ttlSeconds: number): string | undefined {
  if (!settings.JWT_SECRET) return undefined
  const now = Math.floor(Date.now() / 1000)
  const claims: Record<string, unknown> = { iat: now, exp: now + ttlSeconds }
  if (settings.JWT_ISSUER) claims.iss = settings.JWT_ISSUER
  if (settings.JWT_AUDIENCE) claims.aud = settings.JWT_AUDIENCE
  if (token.kind === 'service') Object.assign(claims, { sub: SERVICE_SUBJECT, scope: 'attachments:write' })
  if (token.kind === 'viewer') claims.sub = token.sub
  if (token.kind === 'agent') Object.assign(claims, { sub: token.sub, scope: 'attachments:read:any' })
  if (token.kind === 'link') claims.dlg = token.dialogId
  return createSigner({ key: settings.JWT_SECRET, algorithm: 'HS256' })(claims)
}
