// Conditional requests, RFC 9110 §13, for GET and HEAD of a representation
// that exists. Validators come from the stored row, never from storage, so a
// 304 or 412 is decided before any S3 call.
//
// Written out rather than taken from `fresh`: fresh refuses 304 whenever the
// request says Cache-Control: no-cache (a directive for caches, not for the
// origin), splits lists on spaces only, and trusts Date.parse, which reads
// "1" or "3000" as dates and asctime dates in local time.
import type { IncomingHttpHeaders } from 'node:http'
import { parseHttpDate } from './http-date.js'

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

/** The evaluation order of RFC 9110 §13.2.2 (a GET or HEAD). */
export function evaluatePreconditions (headers: IncomingHttpHeaders, validators: Validators): Precondition {
  const lastModified = Math.floor(validators.lastModified.getTime() / 1000) * 1000
  // 1-2: If-Match (strong comparison), else If-Unmodified-Since.
  const ifMatch = headers['if-match']
  if (ifMatch !== undefined) {
    const tags = entityTags(ifMatch)
    if (tags !== '*' && !tags.some((tag) => strongMatch(tag, validators.etag))) return 'failed'
  } else {
    const since = parseHttpDate(headers['if-unmodified-since'])
    if (since !== undefined && lastModified > since) return 'failed'
  }
  // 3-4: If-None-Match (weak comparison); If-Modified-Since only without it (§13.1.3).
  const ifNoneMatch = headers['if-none-match']
  if (ifNoneMatch !== undefined) {
    const tags = entityTags(ifNoneMatch)
    return tags === '*' || tags.some((tag) => weakMatch(tag, validators.etag)) ? 'not-modified' : 'proceed'
  }
  const since = parseHttpDate(headers['if-modified-since'])
  return since !== undefined && lastModified <= since ? 'not-modified' : 'proceed'
}

/**
 * If-Range, RFC 9110 §13.1.5: the Range header applies only when the
 * validator still matches: an entity tag by strong comparison (a weak tag
 * never matches), a date only when it equals Last-Modified exactly.
 */
export function ifRangeMatches (header: string, validators: Validators): boolean {
  const value = header.trim()
  if (value.startsWith('"') || value.startsWith('W/')) {
    const tags = entityTags(value)
    return tags !== '*' && tags.length === 1 && strongMatch(tags[0]!, validators.etag)
  }
  const date = parseHttpDate(value)
  return date !== undefined && date === Math.floor(validators.lastModified.getTime() / 1000) * 1000
}

// One element of an entity-tag list (§8.8.3, §5.6.1): optional whitespace,
// an optional "W/" and a quoted opaque tag, then a comma or the end. Empty
// elements (",,") are allowed.
const LIST_ELEMENT = /[\t ]*((?:W\/)?"[\x21\x23-\x7e\x80-\xff]*")?[\t ]*(?:,|$)/y

/** "*" or the entity tags of a list; a malformed list yields the tags before the fault. */
function entityTags (header: string | string[]): string[] | '*' {
  const value = Array.isArray(header) ? header.join(',') : header
  if (value.trim() === '*') return '*'
  const tags: string[] = []
  LIST_ELEMENT.lastIndex = 0
  while (LIST_ELEMENT.lastIndex < value.length) {
    const match = LIST_ELEMENT.exec(value)
    if (!match || match[0] === '') break
    if (match[1]) tags.push(match[1])
  }
  return tags
}

const strongMatch = (tag: string, etag: string) => !tag.startsWith('W/') && tag === etag
const weakMatch = (tag: string, etag: string) => tag.replace(/^W\//, '') === etag.replace(/^W\//, '')
