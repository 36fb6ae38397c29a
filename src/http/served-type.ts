import { essence } from '../upload/content-type.js'

// Shown in the browser only for raster images the browser decodes itself;
// everything else is a download.
const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif'])

// Types a browser can execute script in when it renders them as a document
// or loads them as a script/plugin. They are never served under their own
// type, whatever was detected.
const ACTIVE_TYPES = new Set([
  'text/html', 'application/xhtml+xml', 'image/svg+xml', 'application/xml', 'text/xml', 'text/xsl',
  'application/xslt+xml', 'application/javascript', 'application/x-javascript', 'application/ecmascript',
  'text/javascript', 'text/ecmascript', 'text/x-javascript', 'application/x-shockwave-flash',
  'application/vnd.adobe.flash.movie', 'application/wasm', 'text/cache-manifest', 'multipart/x-mixed-replace'
])

export function isInlineType (contentType: string): boolean {
  return INLINE_TYPES.has(essence(contentType))
}

/** The Content-Type a download is sent with. */
export function servedContentType (contentType: string): string {
  const type = essence(contentType)
  return ACTIVE_TYPES.has(type) || type.endsWith('+xml') ? 'application/octet-stream' : contentType
}
