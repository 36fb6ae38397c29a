import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { jwtVerification, type Config } from '../config.js'
import { stringField } from '../fields.js'

export interface TokenClaims {
  sub?: string
  scope?: string | string[]
  dlg?: string
  iat?: number
  exp: number
  [claim: string]: unknown
}

export const WRITE_SCOPE = 'attachments:write'

/**
 * One verifier for service and user tokens: the configured key, its single
 * algorithm, `exp` required, `iss`/`aud` checked when configured. Verified
 * tokens are cached by verifyToken (bounded by their own expiry), so the
 * hot path pays for a signature check once per token rather than once per
 * request.
 */
export default fp<{ config: Config }>(async function authPlugin (app, { config }) {
  const { key, algorithms } = jwtVerification(config)
  await app.register(fastifyJwt, {
    secret: algorithms[0] === 'HS256' ? key : { public: key },
    verify: {
      algorithms,
      // fast-jwt checks iss/aud only when present: require them when configured.
      requiredClaims: ['exp', ...(config.JWT_ISSUER ? ['iss'] : []), ...(config.JWT_AUDIENCE ? ['aud'] : [])],
      ...(config.JWT_ISSUER ? { allowedIss: config.JWT_ISSUER } : {}),
      ...(config.JWT_AUDIENCE ? { allowedAud: config.JWT_AUDIENCE } : {})
    }
  })
}, { name: 'auth', fastify: '5.x' })

/** Why a token was refused: logged (never the token itself), never told to the client. */
export type TokenRefusal =
  | 'malformed' | 'signature' | 'algorithm' | 'expired' | 'not_yet_valid' | 'issuer' | 'audience' | 'missing_claim'
  | 'non_finite_claim' | 'too_long_lived' | 'issued_in_future' | 'not_a_link_token'

export type Verified = { claims: TokenClaims } | { refusal: TokenRefusal }

const REFUSALS: Record<string, TokenRefusal> = {
  FAST_JWT_MALFORMED: 'malformed',
  FAST_JWT_INVALID_TYPE: 'malformed',
  FAST_JWT_INVALID_PAYLOAD: 'malformed',
  FAST_JWT_INVALID_CRIT_HEADER: 'malformed',
  FAST_JWT_INVALID_SIGNATURE: 'signature',
  FAST_JWT_MISSING_SIGNATURE: 'signature',
  FAST_JWT_INVALID_ALGORITHM: 'algorithm',
  FAST_JWT_EXPIRED: 'expired',
  FAST_JWT_INACTIVE: 'not_yet_valid',
  FAST_JWT_MISSING_REQUIRED_CLAIM: 'missing_claim'
}

function refusalOf (err: unknown): TokenRefusal {
  const code = stringField(err, 'code')
  const message = stringField(err, 'message')
  if (code === 'FAST_JWT_INVALID_CLAIM_VALUE' || code === 'FAST_JWT_INVALID_CLAIM_TYPE') {
    if (/\biss\b/.test(message ?? '')) return 'issuer'
    if (/\baud\b/.test(message ?? '')) return 'audience'
    return 'non_finite_claim'
  }
  return REFUSALS[code ?? ''] ?? 'malformed'
}

/**
 * Verifies a token (signature, algorithm, exp, iss/aud) and checks that its
 * time claims are finite numbers: JSON can spell `1e400`, which parses as
 * Infinity and would otherwise pass every comparison.
 */
export function verifyToken (app: FastifyInstance, token: string): Verified {
  // Accepted tokens, by their exact text, until they expire: the same text
  // verifies the same way, and fast-jwt's own cache would hash the token
  // (SHA-256) on every request to find it. Keyed per verifier (app.jwt).
  let accepted = acceptedTokens.get(app.jwt)
  if (!accepted) acceptedTokens.set(app.jwt, accepted = new Map())
  const known = accepted.get(token)
  if (known && known.exp * 1000 > Date.now()) return { claims: known }
  let claims: TokenClaims
  try {
    claims = app.jwt.verify<TokenClaims>(token)
  } catch (err) {
    return { refusal: refusalOf(err) }
  }
  for (const name of ['exp', 'iat', 'nbf'] as const) {
    const value = claims[name]
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value))) return { refusal: 'non_finite_claim' }
  }
  accepted.delete(token)
  accepted.set(token, claims)
  // Oldest first out: bounded like the verifier's cache was.
  if (accepted.size > ACCEPTED_TOKENS_MAX) accepted.delete(accepted.keys().next().value!)
  return { claims }
}

const ACCEPTED_TOKENS_MAX = 10_000
const acceptedTokens = new WeakMap<object, Map<string, TokenClaims>>()

export interface LifetimeRules {
  /** A browser token may expire at most this far ahead of now. */
  maxTtlSeconds: number
  clockSkewSeconds: number
}

/** Browser tokens: exp at most TOKEN_MAX_TTL_SECONDS (plus the clock skew) ahead of now. */
export function lifetimeRefusal (claims: TokenClaims, rules: LifetimeRules, nowSeconds = Date.now() / 1000): TokenRefusal | undefined {
  return claims.exp - nowSeconds > rules.maxTtlSeconds + rules.clockSkewSeconds ? 'too_long_lived' : undefined
}

/**
 * A link token (a token in a URL, which ends up in histories and proxy
 * logs): scoped to this very dialog, issued now rather than in the future
 * (iat at most the clock skew ahead), and short-lived from its issue.
 */
export function linkTokenRefusal (claims: TokenClaims, dialogId: string | undefined, maxTtlSeconds: number, rules: LifetimeRules, nowSeconds = Date.now() / 1000): TokenRefusal | undefined {
  if (typeof claims.dlg !== 'string' || claims.dlg !== dialogId || typeof claims.iat !== 'number') return 'not_a_link_token'
  if (claims.iat > nowSeconds + rules.clockSkewSeconds) return 'issued_in_future'
  if (claims.exp - claims.iat > maxTtlSeconds) return 'too_long_lived'
  return undefined
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1). */
export function bearerToken (header: string | undefined): string | undefined {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header ?? '')
  return match?.[1]
}

/** OAuth-style `scope`: a space-separated string (an array is accepted too). */
export function hasScope (claims: TokenClaims, scope: string): boolean {
  const scopes = Array.isArray(claims.scope) ? claims.scope : typeof claims.scope === 'string' ? claims.scope.split(/\s+/) : []
  return scopes.includes(scope)
}
