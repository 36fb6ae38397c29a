// PNG text chunks that carry metadata (PNG 3rd ed. §11.3.3, and the
// "Raw profile type" convention of ImageMagick, read by ExifTool):
//   "XML:com.adobe.xmp" in iTXt (also accepted in tEXt/zTXt): an XMP packet;
//   "Raw profile type exif" / "APP1" / "xmp": the profile in hex digits.
// Uncompressed text is scrubbed in place. Compressed text (zTXt, iTXt with
// the compression flag) is inflated (at most the cap), scrubbed, and
// deflated again into exactly the same number of bytes: the new deflate
// stream ends with a stored block of spaces that fills the gap (spaces after
// an XMP packet or after the hex digits are ignored by readers). When the
// scrubbed text no longer fits, it is replaced by spaces only, which drops
// that chunk's metadata but keeps the file valid and its size unchanged.
import { constants, deflateSync, inflateSync } from 'node:zlib'
import { MetadataUnstrippableError } from './errors.js'
import { scrubTiff, tiffStart } from './tiff.js'
import { XmpScrubber } from './xmp.js'
import { stringField } from '../../fields.js'

export const XMP_KEYWORD = 'XML:com.adobe.xmp'
const RAW_PROFILE = /^Raw profile type (exif|app1|xmp)$/i

export type TextKind = 'xmp' | 'raw-profile'

/** Which metadata a text chunk's keyword announces, if any. */
export function textKind (keyword: string): TextKind | undefined {
  if (keyword === XMP_KEYWORD) return 'xmp'
  if (RAW_PROFILE.test(keyword)) return 'raw-profile'
  return undefined
}

/** Offset of the text in a tEXt/zTXt/iTXt chunk's data and whether it is compressed; undefined when the header is incomplete. */
export function textLayout (type: string, data: Buffer): { start: number, compressed: boolean } | undefined {
  const keywordEnd = data.indexOf(0)
  if (keywordEnd < 0) return undefined
  if (type === 'tEXt') return { start: keywordEnd + 1, compressed: false }
  if (type === 'zTXt') return keywordEnd + 2 <= data.length ? { start: keywordEnd + 2, compressed: true } : undefined
  // iTXt: compression flag, method, language tag\0, translated keyword\0.
  if (keywordEnd + 3 > data.length) return undefined
  const languageEnd = data.indexOf(0, keywordEnd + 3)
  const translatedEnd = languageEnd < 0 ? -1 : data.indexOf(0, languageEnd + 1)
  if (translatedEnd < 0) return undefined
  return { start: translatedEnd + 1, compressed: data[keywordEnd + 1] === 1 }
}

/**
 * Scrubs a whole text chunk's data in place (same length). Returns how many
 * items were removed; 0 when unchanged.
 */
export function scrubTextChunk (type: string, data: Buffer, kind: TextKind, maxBytes: number): number {
  const layout = textLayout(type, data)
  if (!layout) return 0
  const text = data.subarray(layout.start)
  if (!layout.compressed) return scrubText(text, kind)

  let inflated: Buffer
  try {
    inflated = inflateSync(text, { maxOutputLength: maxBytes })
  } catch (err) {
    if (stringField(err, 'code') === 'ERR_BUFFER_TOO_LARGE') {
      throw new MetadataUnstrippableError(`a compressed PNG metadata chunk inflates past ${maxBytes} bytes`)
    }
    // Not inflatable: no reader can see what is inside either.
    return 0
  }
  const removed = scrubText(inflated, kind)
  if (removed === 0) return 0
  const replacement = deflateToLength(inflated, text.length) ?? deflateToLength(Buffer.alloc(0), text.length)
  if (!replacement) throw new MetadataUnstrippableError('a compressed PNG metadata chunk is too small to rewrite')
  replacement.copy(text)
  return removed
}

function scrubText (text: Buffer, kind: TextKind): number {
  return kind === 'xmp' ? XmpScrubber.scrub(text) : scrubRawProfile(text)
}

// "\n<name>\n<length, padded>\n<hex digits, in lines>\n"
function scrubRawProfile (text: Buffer): number {
  let newline = -1
  for (let line = 0; line < 3; line++) {
    newline = text.indexOf(0x0a, newline + 1)
    if (newline < 0) return 0
  }
  const at = newline + 1
  const positions: number[] = []
  for (let i = at; i < text.length; i++) if (HEX[text[i]!] !== undefined) positions.push(i)
  const bytes = Buffer.alloc(positions.length >> 1)
  for (let i = 0; i < bytes.length; i++) bytes[i] = (HEX[text[positions[2 * i]!]!]! << 4) | HEX[text[positions[2 * i + 1]!]!]!
  let removed: number
  const looksXmp = [bytes.indexOf('<?xpacket'), bytes.indexOf('<x:xmpmeta')].some((i) => i >= 0 && i < 64)
  if (bytes.toString('latin1', 0, 5) === 'Exif\0' || bytes.toString('latin1', 0, 2) === 'II' || bytes.toString('latin1', 0, 2) === 'MM') {
    removed = scrubTiff(bytes, tiffStart(bytes, 0), bytes.length)
  } else if (looksXmp) {
    removed = XmpScrubber.scrub(bytes)
  } else {
    return 0
  }
  if (removed === 0) return 0
  const digits = bytes.toString('hex')
  for (let i = 0; i < digits.length; i++) text[positions[i]!] = digits.charCodeAt(i)
  return removed
}

const HEX: Array<number | undefined> = []
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i
}

/**
 * A zlib stream (RFC 1950/1951) of exactly `length` bytes that inflates to
 * `data` followed by spaces: `data` deflated up to a sync flush (which ends
 * byte-aligned), stored blocks of spaces, then the Adler-32 of it all.
 * Undefined when `data` does not fit.
 */
export function deflateToLength (data: Buffer, length: number): Buffer | undefined {
  const body = deflateSync(data, { level: 9, finishFlush: constants.Z_SYNC_FLUSH })
  let padding = length - body.length - 4
  if (padding < 5) return undefined
  const parts: Buffer[] = [body]
  let spaces = 0
  while (padding > 0) {
    // A stored block: 1 header byte when aligned, LEN, NLEN, LEN bytes.
    let size = Math.min(0xffff, padding - 5)
    if (padding - 5 - size > 0 && padding - 5 - size < 5) size -= 5
    const final = padding - 5 - size === 0
    const block = Buffer.alloc(5 + size, 0x20)
    block[0] = final ? 1 : 0
    block.writeUInt16LE(size, 1)
    block.writeUInt16LE(~size & 0xffff, 3)
    parts.push(block)
    spaces += size
    padding -= 5 + size
  }
  const trailer = Buffer.alloc(4)
  trailer.writeUInt32BE(adler32(data, spaces))
  parts.push(trailer)
  return Buffer.concat(parts, length)
}

/** Adler-32 (RFC 1950 §8.2) of `data` followed by `spaces` spaces. */
function adler32 (data: Buffer, spaces: number): number {
  let a = 1
  let b = 0
  const total = data.length + spaces
  for (let i = 0; i < total;) {
    // Up to 5552 bytes cannot overflow before the modulo (as zlib does it).
    const stop = Math.min(total, i + 5552)
    for (; i < stop; i++) {
      a += i < data.length ? data[i]! : 0x20
      b += a
    }
    a %= 65521
    b %= 65521
  }
  return ((b << 16) | a) >>> 0
}
