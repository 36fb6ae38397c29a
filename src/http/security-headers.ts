import type { Config } from '../config.js'

/**
 * Sent with every answer of the browser route, errors included: no MIME
 * sniffing, no script or plugin in anything rendered, no use from other
 * sites beyond CORP_POLICY, and no Referer that could carry a ?token=.
 */
export function securityHeaders (config: Pick<Config, 'CORP_POLICY'>): Record<string, string> {
  return {
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cross-origin-resource-policy': config.CORP_POLICY,
    'referrer-policy': 'no-referrer'
  }
}

/** Errors of the browser route are never cached: access may be granted a moment later. */
export const ERROR_CACHE_CONTROL = 'no-store'
