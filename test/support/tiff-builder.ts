// Builds TIFF structures (TIFF 6.0 §2; the EXIF 2.32 layout) with chosen
// tags, for metadata that cameras write but ExifTool cannot create (a maker
// note, a DNG camera serial number) and for the structures around them.
export type TiffValue =
  | { ascii: string }
  | { short: number[] }
  | { long: number[] }
  | { rational: Array<[number, number]> }
  | { undefined: Buffer }
  | { ifd: TiffIfd }

export interface TiffIfd {
  entries: Array<[number, TiffValue]>
  next?: TiffIfd
}

const TYPES = { ascii: [2, 1], short: [3, 2], long: [4, 4], rational: [5, 8], undefined: [7, 1], ifd: [4, 4] } as const

export function buildTiff (ifd0: TiffIfd, { little = false } = {}): Buffer {
  const out = Buffer.alloc(1 << 20)
  let length = 8
  const u16 = (at: number, v: number) => little ? out.writeUInt16LE(v, at) : out.writeUInt16BE(v, at)
  const u32 = (at: number, v: number) => little ? out.writeUInt32LE(v, at) : out.writeUInt32BE(v, at)
  out.write(little ? 'II' : 'MM', 0, 'latin1')
  u16(2, 42)
  const reserve = (size: number) => {
    const at = length + (length & 1) // word-aligned, as TIFF recommends
    length = at + size
    return at
  }
  const encode = (value: TiffValue): Buffer => {
    if ('ascii' in value) return Buffer.from(value.ascii + '\0', 'latin1')
    if ('undefined' in value) return value.undefined
    const numbers = 'short' in value ? value.short : 'long' in value ? value.long : 'rational' in value ? value.rational.flat() : []
    const size = 'short' in value ? 2 : 4
    const data = Buffer.alloc(numbers.length * size)
    numbers.forEach((n, i) => size === 2 ? (little ? data.writeUInt16LE(n, i * 2) : data.writeUInt16BE(n, i * 2)) : (little ? data.writeUInt32LE(n, i * 4) : data.writeUInt32BE(n, i * 4)))
    return data
  }
  const place = (ifd: TiffIfd): number => {
    const entries = [...ifd.entries].sort((a, b) => a[0] - b[0])
    const at = reserve(2 + entries.length * 12 + 4)
    u16(at, entries.length)
    entries.forEach(([tag, value], i) => {
      const e = at + 2 + i * 12
      const kind = Object.keys(value)[0] as keyof typeof TYPES
      const [type, unit] = TYPES[kind]
      u16(e, tag)
      u16(e + 2, type)
      if ('ifd' in value) {
        u32(e + 4, 1)
        u32(e + 8, place(value.ifd))
        return
      }
      const data = encode(value)
      u32(e + 4, data.length / unit)
      if (data.length <= 4) {
        data.copy(out, e + 8)
      } else {
        const where = reserve(data.length)
        data.copy(out, where)
        u32(e + 8, where)
      }
    })
    u32(at + 2 + entries.length * 12, ifd.next ? place(ifd.next) : 0)
    return at
  }
  u32(4, place(ifd0))
  return Buffer.from(out.subarray(0, length))
}

/** A JPEG with `segments` (marker, payload) inserted right after SOI. */
export function withJpegSegments (jpeg: Buffer, segments: Array<[number, Buffer]>): Buffer {
  const parts = segments.map(([marker, payload]) => {
    const head = Buffer.from([0xff, marker, 0, 0])
    head.writeUInt16BE(payload.length + 2, 2)
    return Buffer.concat([head, payload])
  })
  return Buffer.concat([jpeg.subarray(0, 2), ...parts, jpeg.subarray(2)])
}
