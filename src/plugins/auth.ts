import fastifyJwt from '@fastify/jwt'
import fp from 'fastify-plugin'
import { jwtVerification, type Config } from '../config.js'

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
 * tokens are cached (bounded by their own expiry), so the hot path pays for
 * a signature check once per token rather than once per request.
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
      ...(config.JWT_AUDIENCE ? { allowedAud: config.JWT_AUDIENCE } : {}),
      cache: 10_000
    }
  })
}, { name: 'auth', fastify: '5.x' })

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
