// Builds small HEIF files (ISO/IEC 23008-12) with metadata items placed
// where a test needs them: in the meta box's idat (construction method 1) or
// in an mdat before or after the meta box (method 0). The files carry no
// coded image: they are for where metadata lies, which ExifTool reads; real
// pictures come from heif-enc.
export interface HeifItem {
  id: number
  /** "Exif", or "mime" with contentType "application/rdf+xml" for XMP. */
  type: string
  contentType?: string
  contentEncoding?: string
  data: Buffer
  /** 0: in the mdat; 1: in the meta box's idat; 2 (from other items) is laid out as 0. */
  method: 0 | 1 | 2
  /** Cut the data here into several extents, with other bytes between them. */
  cuts?: number[]
}

// What lies between the extents of a cut item.
const FILLER = Buffer.from('--other bytes---', 'latin1')

function pieces (item: HeifItem): Buffer[] {
  const bounds = [0, ...(item.cuts ?? []), item.data.length]
  return bounds.slice(1).map((end, i) => item.data.subarray(bounds[i], end))
}

function box (type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload)
  const head = Buffer.alloc(8)
  head.writeUInt32BE(8 + body.length)
  head.write(type, 4, 'latin1')
  return Buffer.concat([head, body])
}

function fullBox (type: string, version: number, ...payload: Buffer[]): Buffer {
  return box(type, Buffer.from([version, 0, 0, 0]), ...payload)
}

const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b }
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }
const cString = (s: string) => Buffer.from(s + '\0', 'utf8')

/** The Exif item's content: the offset to the TIFF header, "Exif\0\0", the TIFF structure. */
export function exifItem (tiff: Buffer): Buffer {
  return Buffer.concat([u32(6), Buffer.from('Exif\0\0', 'latin1'), tiff])
}

export function buildHeif (items: HeifItem[], { mdatFirst = false } = {}): Buffer {
  const ftyp = box('ftyp', Buffer.from('heic', 'latin1'), u32(0), Buffer.from('mif1heic', 'latin1'))
  const inMdat = items.filter((item) => item.method !== 1)
  const inIdat = items.filter((item) => item.method === 1)
  const meta = (mdatDataStart: number) => {
    let mdatAt = mdatDataStart
    let idatAt = 0
    const locations = items.map((item) => {
      const extents = pieces(item).map((piece) => {
        const offset = item.method === 1 ? idatAt : mdatAt
        if (item.method === 1) idatAt += piece.length
        else mdatAt += piece.length + FILLER.length
        return Buffer.concat([u32(offset), u32(piece.length)])
      })
      return Buffer.concat([u16(item.id), u16(item.method), u16(0), u16(extents.length), ...extents])
    })
    const infos = items.map((item) => fullBox('infe', 2, u16(item.id), u16(0), Buffer.from(item.type, 'latin1'), cString(''),
      ...(item.type === 'mime' ? [cString(item.contentType ?? ''), ...(item.contentEncoding ? [cString(item.contentEncoding)] : [])] : [])))
    return fullBox('meta', 0,
      fullBox('hdlr', 0, u32(0), Buffer.from('pict', 'latin1'), Buffer.alloc(12), cString('')),
      fullBox('pitm', 0, u16(items[0]?.id ?? 1)),
      // iloc version 1: 4-byte offsets and lengths, no base offset, no index.
      fullBox('iloc', 1, Buffer.from([0x44, 0x00]), u16(items.length), ...locations),
      fullBox('iinf', 0, u16(items.length), ...infos),
      ...(inIdat.length > 0 ? [box('idat', ...inIdat.map((item) => item.data))] : []))
  }
  const mdat = box('mdat', ...inMdat.flatMap((item) => pieces(item).flatMap((piece) => [piece, FILLER])))
  if (mdatFirst) return Buffer.concat([ftyp, mdat, meta(ftyp.length + 8)])
  const metaLength = meta(0).length
  return Buffer.concat([ftyp, meta(ftyp.length + metaLength + 8), mdat])
}
