import { essence } from '../upload/content-type.js'

// Shown in the browser only for raster images the browser decodes itself;
// everything else is a download.
const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif'])

// Types a browser can execute script in when it renders them as a document
// or loads them as a script/plugin. They are never served under their own
// type, whatever was detected. The JavaScript ones are WHATWG MIME Sniffing
// §4.6's "JavaScript MIME type" list.
const ACTIVE_TYPES = new Set([
  'text/html', 'application/xhtml+xml', 'image/svg+xml', 'application/xml', 'text/xml', 'text/xsl',
  'application/xslt+xml', 'application/x-shockwave-flash', 'application/vnd.adobe.flash.movie',
  'application/wasm', 'text/cache-manifest', 'multipart/x-mixed-replace',
  'application/ecmascript', 'application/javascript', 'application/x-ecmascript', 'application/x-javascript',
  'text/ecmascript', 'text/javascript', 'text/javascript1.0', 'text/javascript1.1', 'text/javascript1.2',
  'text/javascript1.3', 'text/javascript1.4', 'text/javascript1.5', 'text/jscript', 'text/livescript',
  'text/x-ecmascript', 'text/x-javascript'
])
// One media type with optional parameters. A list ("text/plain, text/html")
// would be read by a browser as its last entry (Fetch "extract a MIME type").
const TOKEN = "[A-Za-z0-9!#$%&'*+.^_`|~-]+"
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[\t ]*;[\t ]*${TOKEN}=(?:${TOKEN}|"[^"\\\\]*"))*$`)

export function isInlineType (contentType: string): boolean {
  return INLINE_TYPES.has(essence(contentType))
}

/** The Content-Type a download is sent with: never a script-capable or ambiguous one. */
export function servedContentType (contentType: string): string {
  const type = essence(contentType)
  if (!MEDIA_TYPE.test(contentType) || ACTIVE_TYPES.has(type) || type.endsWith('+xml')) return 'application/octet-stream'
  return contentType
}
