// The router refuses some paths before any route runs: a percent-escape that
// does not decode, a parameter longer than maxParamLength. Under /v1/ those
// must look like any other unreadable attachment (the one 404, counted by the
// rate limit), so they are rewritten, before routing, to a path whose ids are
// malformed: the download route then answers them as it answers a malformed
// id. The query string is kept (it may carry the token, which is judged as
// usual).
import { attachmentUrl, isPublicPath } from '../paths.js'

export const MALFORMED_BROWSER_PATH = attachmentUrl('-', '-')

export function rewriteMalformedBrowserPath (url: string, maxParamLength: number): string {
  if (!isPublicPath(url)) return url
  const mark = url.indexOf('?')
  const path = mark === -1 ? url : url.slice(0, mark)
  // The common case costs two string scans.
  if (path.length <= maxParamLength && !path.includes('%')) return url
  for (const segment of path.split('/')) {
    if (segment.length <= maxParamLength && !segment.includes('%')) continue
    const decoded = decode(segment)
    if (decoded === undefined || decoded.length > maxParamLength) {
      return mark === -1 ? MALFORMED_BROWSER_PATH : `${MALFORMED_BROWSER_PATH}${url.slice(mark)}`
    }
  }
  return url
}

function decode (segment: string): string | undefined {
  try {
    return decodeURIComponent(segment)
  } catch {
    return undefined
  }
}
