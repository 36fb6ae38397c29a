// Conditional requests, RFC 9110 §13, for GET and HEAD of a representation
// that exists. Validators come from the stored row, never from storage, so a
// 304 or 412 is decided before any S3 call.
import type { IncomingHttpHeaders } from 'node:http'
import fresh from 'fresh'

export interface Validators {
  /** Strong entity tag, quoted. */
  etag: string
  lastModified: Date
}

export type Precondition = 'proceed' | 'not-modified' | 'failed'

/** Last-Modified as sent: an IMF-fixdate, which has whole seconds. */
export function httpDate (date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toUTCString()
}

/** The evaluation order of RFC 9110 §13.2.2. */
export function evaluatePreconditions (headers: IncomingHttpHeaders, validators: Validators): Precondition {
  const lastModified = httpDate(validators.lastModified)
  // Steps 1-2: If-Match (strong comparison), else If-Unmodified-Since.
  const ifMatch = headers['if-match']
  if (ifMatch !== undefined) {
    if (!strongListMatch(ifMatch, validators.etag)) return 'failed'
  } else {
    const since = Date.parse(headers['if-unmodified-since'] ?? '')
    if (!Number.isNaN(since) && Date.parse(lastModified) > since) return 'failed'
  }
  // Steps 3-4: If-None-Match (weak comparison) takes precedence over
  // If-Modified-Since; `fresh` implements exactly that, as used by express.
  if (fresh(headers, { etag: validators.etag, 'last-modified': lastModified })) return 'not-modified'
  return 'proceed'
}

/**
 * If-Range, RFC 9110 §13.1.5: the Range header applies only when the
 * validator still matches: an entity tag by strong comparison (a weak tag
 * never matches), a date only when it equals Last-Modified exactly.
 */
export function ifRangeMatches (header: string, validators: Validators): boolean {
  const value = header.trim()
  if (value.startsWith('"') || value.startsWith('W/')) return value === validators.etag
  const date = Date.parse(value)
  return !Number.isNaN(date) && date === Date.parse(httpDate(validators.lastModified))
}

/** If-Match: "*" or a list of entity tags, compared strongly (weak tags never match). */
function strongListMatch (header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  return (header.match(/(?:W\/)?"[^"]*"/g) ?? ([] as string[])).includes(etag)
}
