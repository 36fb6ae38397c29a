// HEIF/HEIC/AVIF (ISO/IEC 23008-12): the 'meta' box near the start says
// where the Exif item and the XMP item (mime application/rdf+xml) lie. The
// meta box is held whole (at most the cap) and parsed (heif-meta.ts); items
// stored inside it (its 'idat', construction method 1) are scrubbed there,
// before it is sent. Items stored later in the file (method 0, typically in
// an 'mdat' after the meta box) are scrubbed as they stream past: the bytes
// up to an item pass unchanged, the item's span is held (at most the cap)
// and scrubbed. The Exif item starts with a 4-byte offset to its TIFF header
// (ISO/IEC 23008-12 Annex A.2.1).
//
// Refused (MetadataUnstrippableError), because the bytes are already sent
// or cannot be held: metadata placed before the meta box, a meta box or an
// item span over the cap, XMP stored with a content encoding, items built
// from other items (construction method 2). A file without a meta box, or
// whose boxes do not parse, passes unchanged.
import { MetadataUnstrippableError } from './errors.js'
import { type Extent, type MetadataItem, parseMeta } from './heif-meta.js'
import { pass, type Program, type ProgramContext, read, type Step } from './stream-program.js'
import { scrubTiff } from './tiff.js'
import { XmpScrubber } from './xmp.js'

interface Span {
  start: number
  end: number
  items: Array<{ kind: MetadataItem['kind'], ranges: Array<[number, number]> }>
}

export function * heifProgram (context: ProgramContext): Program {
  let offset = 0
  for (;;) {
    let head = yield * read(8)
    if (head.length < 8) {
      context.emit(head)
      return
    }
    let size = head.readUInt32BE(0)
    let headerLength = 8
    if (size === 1) {
      const large = yield * read(8)
      head = Buffer.concat([head, large])
      if (large.length < 8) {
        context.emit(head)
        return
      }
      size = Math.min(Number(large.readBigUInt64BE(0)), Number.MAX_SAFE_INTEGER)
      headerLength = 16
    } else if (size === 0) {
      size = Infinity // to the end of the file
    }
    if (size < headerLength) {
      context.emit(head)
      return
    }
    if (head.toString('latin1', 4, 8) !== 'meta') {
      context.emit(head)
      if (size === Infinity || (yield * pass(size - headerLength)) < size - headerLength) return
      offset += size
      continue
    }
    if (size - headerLength > context.maxBytes) throw new MetadataUnstrippableError(`its HEIF meta box is over ${context.maxBytes} bytes`)
    const body = yield * read(size - headerLength)
    if (body.length < size - headerLength) {
      context.emit(head, body)
      return
    }
    const later = scrubMeta(context, body, offset + headerLength, offset + size)
    context.emit(head, body)
    yield * scrubSpans(context, later, offset + size)
    return
  }
}

/** Scrubs the items stored in the meta box; returns the spans of those stored after it. */
function scrubMeta (context: ProgramContext, body: Buffer, bodyOffset: number, metaEnd: number): Span[] {
  const { items, idat } = parseMeta(body)
  const later: Array<{ kind: MetadataItem['kind'], extents: Extent[] }> = []
  for (const item of items) {
    // Data in another file (a data reference) is not part of this upload.
    if (item.dataReferenceIndex !== 0 || item.extents.length === 0) continue
    if (item.encoding !== '') throw new MetadataUnstrippableError('its XMP is stored with a content encoding')
    if (item.extents.some((extent) => extent.length === 0)) throw new MetadataUnstrippableError('a metadata item runs to the end of the file')
    if (item.constructionMethod === 1) {
      if (!idat) continue
      const ranges = item.extents.map(({ offset, length }): [number, number] => [idat.start + offset, Math.min(idat.end, idat.start + offset + length)])
      context.removed += scrubItem(item.kind, body, ranges)
    } else if (item.constructionMethod === 0) {
      const { start, end } = bounds(item.extents)
      if (start >= bodyOffset && end <= metaEnd) {
        context.removed += scrubItem(item.kind, body, item.extents.map(({ offset, length }) => [offset - bodyOffset, offset - bodyOffset + length]))
      } else if (start >= metaEnd) {
        later.push(item)
      } else {
        throw new MetadataUnstrippableError('its metadata is stored before the HEIF meta box')
      }
    } else {
      throw new MetadataUnstrippableError(`a metadata item uses construction method ${item.constructionMethod}`)
    }
  }
  return spans(context, later)
}

/** Each item's extents, from the first to the last byte, merged where they overlap, in file order. */
function spans (context: ProgramContext, items: Array<{ kind: MetadataItem['kind'], extents: Extent[] }>): Span[] {
  const each = items.map((item) => ({
    ...bounds(item.extents),
    items: [{ kind: item.kind, ranges: item.extents.map((e): [number, number] => [e.offset, e.offset + e.length]) }]
  })).sort((a, b) => a.start - b.start)
  const merged: Span[] = []
  for (const span of each) {
    const last = merged.at(-1)
    if (last && span.start < last.end) {
      last.end = Math.max(last.end, span.end)
      last.items.push(...span.items)
    } else {
      merged.push(span)
    }
  }
  for (const span of merged) {
    if (span.end - span.start > context.maxBytes) throw new MetadataUnstrippableError(`a HEIF metadata item is over ${context.maxBytes} bytes`)
  }
  return merged
}

function * scrubSpans (context: ProgramContext, spans: Span[], from: number): Step<void> {
  let offset = from
  for (const span of spans) {
    if ((yield * pass(span.start - offset)) < span.start - offset) return
    const data = yield * read(span.end - span.start)
    for (const item of span.items) {
      context.removed += scrubItem(item.kind, data, item.ranges.map(([a, b]) => [a - span.start, b - span.start]))
    }
    context.emit(data)
    if (data.length < span.end - span.start) return
    offset = span.end
  }
}

/** From the first byte of an item to its last. */
function bounds (extents: Extent[]): { start: number, end: number } {
  let start = Infinity
  let end = 0
  for (const { offset, length } of extents) {
    start = Math.min(start, offset)
    end = Math.max(end, offset + length)
  }
  return { start, end }
}

/** Scrubs one item whose bytes are `ranges` of `buf` (clipped to it), in order. */
function scrubItem (kind: MetadataItem['kind'], buf: Buffer, ranges: Array<[number, number]>): number {
  const clipped = ranges.map(([a, b]): [number, number] => [Math.max(0, Math.min(a, buf.length)), Math.max(0, Math.min(b, buf.length))])
  const single = clipped.length === 1
  // One extent (the usual case) is scrubbed in place; several are joined, scrubbed and written back.
  const data = single ? buf.subarray(clipped[0]![0], clipped[0]![1]) : Buffer.concat(clipped.map(([a, b]) => buf.subarray(a, b)))
  const removed = kind === 'xmp' ? XmpScrubber.scrub(data) : scrubTiff(data, exifTiffStart(data), data.length)
  if (!single && removed > 0) {
    let at = 0
    for (const [a, b] of clipped) {
      data.copy(buf, a, at, at + (b - a))
      at += b - a
    }
  }
  return removed
}

// The Exif item begins with the offset of the TIFF header after these 4
// bytes (usually 6, past "Exif\0\0"). Some writers got it wrong: then the
// header is looked for in the first bytes.
function exifTiffStart (data: Buffer): number {
  if (data.length < 4) return data.length
  const declared = 4 + data.readUInt32BE(0)
  if (isTiffHeader(data, declared)) return declared
  for (let at = 4; at < Math.min(data.length - 4, 64); at++) if (isTiffHeader(data, at)) return at
  return data.length
}

function isTiffHeader (data: Buffer, at: number): boolean {
  if (at < 0 || at + 4 > data.length) return false
  const head = data.toString('latin1', at, at + 4)
  return head === 'II*\0' || head === 'MM\0*'
}
