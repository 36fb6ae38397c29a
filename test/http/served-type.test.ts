// What a download is served as: only five raster image types are ever shown
// inline, and no type a browser can run script in (a document, a script, a
// plugin) is ever sent under its own name.
import t from 'tap'
import { isInlineType, servedContentType } from '../../src/http/served-type.js'

const OCTET = 'application/octet-stream'

t.test('isInlineType: exactly PNG, JPEG, GIF, WebP and AVIF', async (t) => {
  for (const type of ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif']) {
    t.equal(isInlineType(type), true, type)
  }
})

t.test('isInlineType ignores parameters, case and surrounding whitespace (RFC 9110 §8.3.1)', async (t) => {
  for (const type of ['IMAGE/PNG', 'Image/Jpeg', 'image/GIF', 'image/webp; q=0.9', 'image/avif;foo=bar', 'image/png ; charset=binary', ' image/jpeg ']) {
    t.equal(isInlineType(type), true, JSON.stringify(type))
  }
})

t.test('isInlineType is false for everything else', async (t) => {
  const types = [
    // Images a browser renders as documents, or that it may not decode itself.
    'image/svg+xml', 'IMAGE/SVG+XML', 'image/bmp', 'image/tiff', 'image/x-icon', 'image/vnd.microsoft.icon',
    'image/heic', 'image/heif', 'image/apng', 'image/jxl',
    // Near misses of the five.
    'image/jpg', 'image/pjpeg', 'image/x-png', 'image/png+xml', 'image/pngx', 'image/webp2', 'x-image/png',
    'image/', 'image/*', '*/*', 'png', 'image', '',
    // Not images at all.
    'text/html', 'text/plain', 'application/pdf', 'application/octet-stream', 'video/mp4', 'application/xhtml+xml'
  ]
  for (const type of types) t.equal(isInlineType(type), false, JSON.stringify(type))
})

t.test('servedContentType: documents with script (HTML, XHTML, SVG, XML, XSLT) become application/octet-stream', async (t) => {
  const types = [
    'text/html', 'application/xhtml+xml', 'image/svg+xml', 'application/xml', 'text/xml', 'text/xsl', 'application/xslt+xml',
    'text/cache-manifest', 'multipart/x-mixed-replace'
  ]
  for (const type of types) t.equal(servedContentType(type), OCTET, type)
})

t.test('servedContentType: parameters, case and whitespace do not get a dangerous type through', async (t) => {
  const types = [
    'TEXT/HTML', 'Text/Html', 'text/html; charset=utf-8', 'text/html;charset=UTF-8', ' text/html', 'text/html ', 'text/html;',
    'Image/SVG+XML', 'image/svg+xml; charset=utf-8', 'APPLICATION/XML', 'application/xhtml+xml; q=1', 'TEXT/JAVASCRIPT; charset=utf-8',
    '\ttext/html\t'
  ]
  for (const type of types) t.equal(servedContentType(type), OCTET, JSON.stringify(type))
})

t.test('servedContentType: any +xml type is an XML MIME type (WHATWG MIME Sniffing §4.6) and becomes application/octet-stream', async (t) => {
  const types = [
    'application/rss+xml', 'application/atom+xml', 'application/mathml+xml', 'application/rdf+xml', 'application/vnd.foo+xml',
    'image/foo+xml', 'text/foo+xml', 'application/soap+xml; charset=utf-8', 'APPLICATION/ATOM+XML'
  ]
  for (const type of types) t.equal(servedContentType(type), OCTET, type)
})

t.test('servedContentType: every JavaScript MIME type essence match (WHATWG MIME Sniffing §4.6) becomes application/octet-stream', async (t) => {
  // The complete list from the spec: a browser executes a script served
  // under any of these, X-Content-Type-Options: nosniff notwithstanding.
  const types = [
    'application/ecmascript', 'application/javascript', 'application/x-ecmascript', 'application/x-javascript',
    'text/ecmascript', 'text/javascript', 'text/javascript1.0', 'text/javascript1.1', 'text/javascript1.2',
    'text/javascript1.3', 'text/javascript1.4', 'text/javascript1.5', 'text/jscript', 'text/livescript',
    'text/x-ecmascript', 'text/x-javascript'
  ]
  for (const type of types) t.equal(servedContentType(type), OCTET, type)
})

t.test('servedContentType: plugins and WebAssembly become application/octet-stream', async (t) => {
  for (const type of ['application/x-shockwave-flash', 'application/vnd.adobe.flash.movie', 'application/wasm', 'Application/WASM']) {
    t.equal(servedContentType(type), OCTET, type)
  }
})

t.test('servedContentType: a list of types is not a way around it (Fetch "extract a MIME type": the last one wins)', async (t) => {
  // A browser reads "text/plain, text/html" as text/html.
  for (const type of ['text/plain, text/html', 'text/plain,text/html', 'image/png, image/svg+xml']) {
    t.equal(servedContentType(type), OCTET, JSON.stringify(type))
  }
})

t.test('servedContentType: other types are returned unchanged, parameters and all', async (t) => {
  const types = [
    'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp', 'image/tiff',
    'application/pdf', 'application/zip', 'application/json', 'application/octet-stream',
    'text/plain; charset=utf-8', 'text/csv; charset=utf-8', 'text/markdown; charset=utf-8', 'text/plain',
    'video/mp4', 'audio/mpeg', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'Text/Plain; Charset=UTF-8',
    // Near misses of the dangerous types.
    'text/htmlx', 'application/xml-dtd', 'application/json+xmlish', 'text/javascript-template', 'application/xmlx'
  ]
  for (const type of types) t.equal(servedContentType(type), type, type)
})
