// The type of an upload is decided from its first bytes, never from what the
// client declared: magic numbers via file-type, then a text/markup sniff
// modelled on the WHATWG MIME Sniffing "rules for identifying an unknown
// MIME type" (markup that a browser would render as HTML/SVG/XML is labelled
// as such, so it can be refused or served inert).
//
// file-type and its tokenizers (~150 KB of code) load with the first upload,
// not at start; that the package is installed is checked at import.
import.meta.resolve('file-type')
let fileType: Promise<typeof import('file-type')> | undefined

/** Bytes of the file's start that detection looks at. */
export const SNIFF_BYTES = 4100

// Text formats that carry no markup and may keep the client's more specific label.
const TEXT_REFINEMENTS = new Map([
  ['text/csv', 'text/csv; charset=utf-8'],
  ['text/markdown', 'text/markdown; charset=utf-8'],
  ['application/json', 'application/json']
])

// WHATWG MIME Sniffing §7.1: tags that make a browser sniff "text/html" when
// followed by a space or ">".
const HTML_TAG = /^<(!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[\s>]/i

export async function detectContentType (sample: Uint8Array, declared?: string): Promise<string> {
  fileType ??= import('file-type')
  const detected = await (await fileType).fileTypeFromBuffer(sample)
  if (detected) {
    if (detected.mime === 'application/xml') return markupType(decodeText(sample) ?? '') ?? 'application/xml'
    return detected.mime
  }
  const text = decodeText(sample)
  if (text === undefined) return 'application/octet-stream'
  const markup = markupType(text)
  if (markup) return markup
  return TEXT_REFINEMENTS.get(essence(declared ?? '')) ?? 'text/plain; charset=utf-8'
}

function markupType (text: string): string | undefined {
  const start = text.replace(/^\ufeff/, '').trimStart().slice(0, 1024)
  if (/^<\?xml[\s>?]/i.test(start)) return /<svg[\s>]/i.test(text) ? 'image/svg+xml' : 'application/xml'
  if (/^<svg[\s>]|^<!doctype svg/i.test(start)) return 'image/svg+xml'
  if (HTML_TAG.test(start)) return 'text/html'
  return undefined
}

/** The sample as text, or undefined when it is binary (NUL bytes or invalid UTF-8). */
function decodeText (sample: Uint8Array): string | undefined {
  if (sample.includes(0)) return undefined
  try {
    // stream: true tolerates a multi-byte character cut off at the sample's end.
    return new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true })
  } catch {
    return undefined
  }
}

/** "Text/Plain; charset=utf-8" -> "text/plain". */
export function essence (contentType: string): string {
  return contentType.split(';', 1)[0]!.trim().toLowerCase()
}

/** Whether a type passes an allow-list of "type/subtype" and "type/*" entries (undefined: all allowed). */
export function isTypeAllowed (contentType: string, allowList: readonly string[] | undefined): boolean {
  if (!allowList) return true
  const type = essence(contentType)
  return allowList.some((entry) => {
    const range = entry.trim().toLowerCase()
    return range === type || (range.endsWith('/*') && type.startsWith(range.slice(0, -1)))
  })
}
