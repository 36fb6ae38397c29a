// The short-lived dialog link token the browser puts in ?token= (README
// "Tokens"): HS256 over the shared key, with dlg (the dialog), iat and exp,
// and iss/aud when the service requires them. The service refuses a link
// token whose exp - iat exceeds QUERY_TOKEN_MAX_TTL_SECONDS, or that expires
// more than TOKEN_MAX_TTL_SECONDS ahead, so the client refuses such a
// lifetime before signing anything.
import { createHmac } from 'node:crypto'

export interface LinkTokenSettings {
  /** The shared HS256 key: the service's JWT_SECRET. */
  key: string
  /** The service's JWT_ISSUER / JWT_AUDIENCE, when it sets them. */
  issuer?: string
  audience?: string
  /** The longest lifetime the service accepts: QUERY_TOKEN_MAX_TTL_SECONDS (and at most TOKEN_MAX_TTL_SECONDS). */
  maxTtlSeconds: number
}

const ID = /^[A-Za-z0-9_-]{1,128}$/
const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url')
const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))

export function mintLinkToken (settings: LinkTokenSettings, dialogId: string, ttlSeconds: number, nowSeconds = Math.floor(Date.now() / 1000)): string {
  if (!ID.test(dialogId)) throw new TypeError(`dialogId must match ${ID.source}`)
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new RangeError(`ttlSeconds must be a whole number of seconds, at least 1 (got ${ttlSeconds}): the link would be expired`)
  }
  if (ttlSeconds > settings.maxTtlSeconds) {
    throw new RangeError(`ttlSeconds ${ttlSeconds} exceeds ${settings.maxTtlSeconds}, the longest link the service accepts`)
  }
  const claims = {
    dlg: dialogId,
    iat: nowSeconds,
    exp: nowSeconds + ttlSeconds,
    ...(settings.issuer === undefined ? {} : { iss: settings.issuer }),
    ...(settings.audience === undefined ? {} : { aud: settings.audience })
  }
  const signed = `${HEADER}.${base64url(JSON.stringify(claims))}`
  return `${signed}.${createHmac('sha256', settings.key).update(signed).digest('base64url')}`
}
