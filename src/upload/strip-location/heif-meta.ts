// Reads, from a HEIF 'meta' box (ISO/IEC 23008-12 over ISO/IEC 14496-12
// §8.11), where the metadata items lie: 'iinf' names each item's type
// ("Exif", or "mime" with content type application/rdf+xml for XMP) and
// 'iloc' gives its extents, as file offsets (construction method 0) or
// offsets into the meta box's own 'idat' (method 1). Everything is read
// with bounds checks; a box that does not fit ends the walk of its parent.
import { MetadataUnstrippableError } from './errors.js'

export interface Extent {
  offset: number
  /** 0: "to the end of the data", as iloc allows. */
  length: number
}

export interface MetadataItem {
  id: number
  kind: 'exif' | 'xmp'
  /** content_encoding of a mime item ("" when not encoded). */
  encoding: string
  constructionMethod: number
  dataReferenceIndex: number
  extents: Extent[]
}

export interface MetaLayout {
  items: MetadataItem[]
  /** The idat payload, as offsets in the meta box's body. */
  idat: { start: number, end: number } | undefined
}

// A real file has a few extents per image tile; this bounds the work a
// hostile iloc can ask for (each extent may take 0 bytes to describe).
const MAX_EXTENTS = 65_536

interface Box {
  type: string
  start: number // payload
  end: number
}

function * boxes (buf: Buffer, start: number, end: number): Generator<Box> {
  let at = start
  while (at + 8 <= end) {
    let size = buf.readUInt32BE(at)
    const type = buf.toString('latin1', at + 4, at + 8)
    let header = 8
    if (size === 1) {
      if (at + 16 > end) return
      const large = buf.readBigUInt64BE(at + 8)
      size = large > BigInt(end - at) ? end - at + 1 : Number(large)
      header = 16
    } else if (size === 0) {
      size = end - at
    }
    if (size < header || at + size > end) return
    yield { type, start: at + header, end: at + size }
    at += size
  }
}

/** The body of a 'meta' box (after its 8- or 16-byte header). */
export function parseMeta (body: Buffer): MetaLayout {
  const kinds = new Map<number, { kind: 'exif' | 'xmp', encoding: string }>()
  const locations = new Map<number, Omit<MetadataItem, 'id' | 'kind' | 'encoding'>>()
  let idat: MetaLayout['idat']
  // 'meta' is a FullBox: version and flags come first.
  for (const box of boxes(body, 4, body.length)) {
    if (box.type === 'iinf') readItemInfo(body, box, kinds)
    else if (box.type === 'iloc') readItemLocations(body, box, locations)
    else if (box.type === 'idat' && !idat) idat = { start: box.start, end: box.end }
  }
  const items: MetadataItem[] = []
  for (const [id, { kind, encoding }] of kinds) {
    const location = locations.get(id)
    if (location) items.push({ id, kind, encoding, ...location })
  }
  return { items, idat }
}

function cString (buf: Buffer, at: number, end: number): { value: string, next: number } {
  const nul = buf.indexOf(0, at)
  const stop = nul < 0 || nul >= end ? end : nul
  return { value: buf.toString('utf8', at, stop), next: Math.min(end, stop + 1) }
}

function readItemInfo (buf: Buffer, box: Box, kinds: Map<number, { kind: 'exif' | 'xmp', encoding: string }>): void {
  if (box.start + 4 > box.end) return
  const version = buf[box.start]!
  const first = box.start + 4 + (version === 0 ? 2 : 4)
  for (const entry of boxes(buf, first, box.end)) {
    if (entry.type !== 'infe' || entry.start + 8 > entry.end) continue
    const v = buf[entry.start]!
    let at = entry.start + 4
    let id: number
    let type = ''
    if (v >= 2) {
      if (at + (v === 3 ? 10 : 8) > entry.end) continue
      id = v === 3 ? buf.readUInt32BE(at) : buf.readUInt16BE(at)
      at += (v === 3 ? 4 : 2) + 2 // item_ID, item_protection_index
      type = buf.toString('latin1', at, at + 4)
      at += 4
    } else {
      id = buf.readUInt16BE(at)
      at += 4
      type = 'mime' // versions 0 and 1 describe every item by content type
    }
    if (type === 'Exif') {
      kinds.set(id, { kind: 'exif', encoding: '' })
      continue
    }
    if (type !== 'mime') continue
    const name = cString(buf, at, entry.end)
    const contentType = cString(buf, name.next, entry.end)
    const encoding = contentType.next < entry.end ? cString(buf, contentType.next, entry.end).value : ''
    if (contentType.value.split(';', 1)[0]!.trim().toLowerCase() === 'application/rdf+xml') kinds.set(id, { kind: 'xmp', encoding })
  }
}

function readItemLocations (buf: Buffer, box: Box, locations: Map<number, Omit<MetadataItem, 'id' | 'kind' | 'encoding'>>): void {
  let at = box.start
  const end = box.end
  if (at + 6 > end) return
  const version = buf[at]!
  const offsetSize = buf[at + 4]! >> 4
  const lengthSize = buf[at + 4]! & 0x0f
  const baseOffsetSize = buf[at + 5]! >> 4
  const indexSize = version >= 1 ? buf[at + 5]! & 0x0f : 0
  at += 6
  if (version > 2 || ![offsetSize, lengthSize, baseOffsetSize, indexSize].every((size) => size === 0 || size === 4 || size === 8)) return
  // The next unsigned field of `size` bytes, or undefined past the box.
  const field = (size: number): number | undefined => {
    if (at + size > end) return undefined
    const value = size === 0 ? 0 : size === 2 ? buf.readUInt16BE(at) : size === 4 ? buf.readUInt32BE(at) : Number(buf.readBigUInt64BE(at))
    at += size
    return value
  }
  const itemCount = field(version < 2 ? 2 : 4) ?? 0
  let extentCount = 0
  // Each item takes at least 6 bytes, so the box bounds this loop.
  for (let i = 0; i < itemCount; i++) {
    const id = field(version < 2 ? 2 : 4)
    const method = version >= 1 ? field(2) : 0
    const dataReferenceIndex = field(2)
    const base = field(baseOffsetSize)
    const count = field(2)
    if (id === undefined || method === undefined || dataReferenceIndex === undefined || base === undefined || count === undefined) return
    const extents: Extent[] = []
    for (let j = 0; j < count; j++) {
      if (++extentCount > MAX_EXTENTS) throw new MetadataUnstrippableError('its HEIF item locations are too many')
      if (indexSize > 0 && field(indexSize) === undefined) return
      const offset = field(offsetSize)
      const length = field(lengthSize)
      if (offset === undefined || length === undefined) return
      extents.push({ offset: base + offset, length })
    }
    if (!locations.has(id)) locations.set(id, { constructionMethod: method & 0x0f, dataReferenceIndex, extents })
  }
}
