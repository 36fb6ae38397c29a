// Reads what the image engine needs from the `meta` box of a HEIF file
// (HEIC, AVIF; ISO/IEC 23008-12 on ISO/IEC 14496-12 boxes): the primary item
// (pitm), its coding (iinf), and its properties (iprp: ipco + ipma): size
// (ispe), transforms (irot, imir) in the order listed, and colour (colr).
// image-size reads only the first ispe and ignores irot/imir, which gives
// the wrong displayed size for rotated iPhone photos, hence this module.
// Works on the first bytes of a file: undefined when the meta box is not
// complete in them or is inconsistent.
import type { HeifTransform } from './orientation.js'

export interface HeifColour {
  /** ICC profile ("prof"/"rICC"), when the file carries one. */
  icc?: Uint8Array
  /** ITU-T H.273 code points ("nclx"). */
  nclx?: { primaries: number, transfer: number, matrix: number, fullRange: boolean }
}

export interface HeifPrimary {
  /** ftyp major brand, e.g. "heic", "mif1", "avif". */
  brand: string
  /** Item type of the primary item ("hvc1", "av01", "grid", ...). */
  itemType: string
  /** Coding of its pixels: the item type, or for a derived image (grid) the first coded item's. */
  codec: string | undefined
  /** ispe: the size before transforms. */
  width: number
  height: number
  transforms: HeifTransform[]
  colour: HeifColour
  /** An image sequence (moov track), e.g. an animated AVIF. */
  sequence: boolean
}

interface Box { type: string, start: number, end: number }

const CODED_TYPES = new Set(['hvc1', 'av01', 'avc1', 'jpeg', 'vvc1', 'j2k1', 'unci'])
const SEQUENCE_BRANDS = new Set(['msf1', 'hevs', 'avis'])

function fourcc (data: Uint8Array, at: number): string {
  return String.fromCharCode(data[at]!, data[at + 1]!, data[at + 2]!, data[at + 3]!)
}

/** The boxes directly inside [start, end); stops at the first one that does not fit. */
function children (data: Uint8Array, view: DataView, start: number, end: number): Box[] {
  const boxes: Box[] = []
  let at = start
  while (at + 8 <= end) {
    let size = view.getUint32(at)
    let header = 8
    if (size === 1) {
      if (at + 16 > end) break
      size = Number(view.getBigUint64(at + 8))
      header = 16
    } else if (size === 0) {
      size = end - at
    }
    if (size < header || at + size > end) break
    boxes.push({ type: fourcc(data, at + 4), start: at + header, end: at + size })
    at += size
  }
  return boxes
}

export function isHeif (data: Uint8Array): boolean {
  return data.length >= 12 && fourcc(data, 4) === 'ftyp'
}

/** The primary image of a HEIF file's first bytes, or undefined. */
export function readHeifPrimary (data: Uint8Array): HeifPrimary | undefined {
  if (!isHeif(data)) return undefined
  try {
    return read(data)
  } catch {
    // A DataView read past a box that lied about its size.
    return undefined
  }
}

function read (data: Uint8Array): HeifPrimary | undefined {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const top = children(data, view, 0, data.length)
  const ftyp = top.find((b) => b.type === 'ftyp')
  const meta = top.find((b) => b.type === 'meta')
  if (!ftyp || !meta) return undefined
  const brand = fourcc(data, ftyp.start)
  const sequence = SEQUENCE_BRANDS.has(brand) || top.some((b) => b.type === 'moov')

  // meta is a FullBox: 4 bytes of version and flags before its children.
  const inMeta = children(data, view, meta.start + 4, meta.end)
  const pitm = inMeta.find((b) => b.type === 'pitm')
  const iinf = inMeta.find((b) => b.type === 'iinf')
  const iprp = inMeta.find((b) => b.type === 'iprp')
  if (!pitm || !iinf || !iprp) return undefined
  const primaryId = data[pitm.start] === 0 ? view.getUint16(pitm.start + 4) : view.getUint32(pitm.start + 4)

  const itemTypes = new Map<number, string>()
  const iinfVersion = data[iinf.start]!
  const entriesStart = iinf.start + 4 + (iinfVersion === 0 ? 2 : 4)
  for (const infe of children(data, view, entriesStart, iinf.end)) {
    if (infe.type !== 'infe') continue
    const version = data[infe.start]!
    if (version < 2) continue
    const id = version === 2 ? view.getUint16(infe.start + 4) : view.getUint32(infe.start + 4)
    const typeAt = infe.start + 4 + (version === 2 ? 2 : 4) + 2
    itemTypes.set(id, fourcc(data, typeAt))
  }
  const itemType = itemTypes.get(primaryId)
  if (!itemType) return undefined
  const codec = CODED_TYPES.has(itemType) ? itemType : [...itemTypes.values()].find((type) => CODED_TYPES.has(type))

  const inIprp = children(data, view, iprp.start, iprp.end)
  const ipco = inIprp.find((b) => b.type === 'ipco')
  const ipma = inIprp.find((b) => b.type === 'ipma')
  if (!ipco || !ipma) return undefined
  const properties = children(data, view, ipco.start, ipco.end)
  const indices = associations(data, view, ipma, primaryId)

  let size: { width: number, height: number } | undefined
  const transforms: HeifTransform[] = []
  const colour: HeifColour = {}
  for (const index of indices) {
    const property = properties[index - 1]
    if (!property) continue
    if (property.type === 'ispe') {
      size = { width: view.getUint32(property.start + 4), height: view.getUint32(property.start + 8) }
    } else if (property.type === 'irot') {
      transforms.push({ type: 'irot', quarterTurnsCounterClockwise: data[property.start]! & 3 })
    } else if (property.type === 'imir') {
      transforms.push({ type: 'imir', axis: (data[property.start]! & 1) === 1 ? 1 : 0 })
    } else if (property.type === 'colr') {
      const kind = fourcc(data, property.start)
      if ((kind === 'prof' || kind === 'rICC') && !colour.icc) {
        colour.icc = data.slice(property.start + 4, property.end)
      } else if (kind === 'nclx' && !colour.nclx) {
        colour.nclx = {
          primaries: view.getUint16(property.start + 4),
          transfer: view.getUint16(property.start + 6),
          matrix: view.getUint16(property.start + 8),
          fullRange: (data[property.start + 10]! & 0x80) !== 0
        }
      }
    }
  }
  if (!size || size.width === 0 || size.height === 0) return undefined
  return { brand, itemType, codec, ...size, transforms, colour, sequence }
}

/** The 1-based ipco indices associated with an item, in the order ipma lists them. */
function associations (data: Uint8Array, view: DataView, ipma: Box, itemId: number): number[] {
  const version = data[ipma.start]!
  const flags = view.getUint32(ipma.start) & 0xffffff
  let at = ipma.start + 4
  const count = view.getUint32(at)
  at += 4
  for (let i = 0; i < count; i++) {
    const id = version < 1 ? view.getUint16(at) : view.getUint32(at)
    at += version < 1 ? 2 : 4
    const n = data[at]!
    at += 1
    const indices: number[] = []
    for (let j = 0; j < n; j++) {
      if (flags & 1) {
        indices.push(view.getUint16(at) & 0x7fff)
        at += 2
      } else {
        indices.push(data[at]! & 0x7f)
        at += 1
      }
    }
    if (at > ipma.end) return []
    if (id === itemId) return indices
  }
  return []
}
