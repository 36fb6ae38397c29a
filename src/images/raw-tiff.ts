// Wraps decoded 8-bit RGB(A) pixels in an uncompressed baseline TIFF
// (TIFF 6.0, little-endian), so that sharp reads them together with their
// ICC profile: sharp's raw input cannot carry a profile, and without it an
// iPhone's Display P3 pixels would be taken for sRGB. Strips of ~64 KiB let
// libtiff read the pixels piecewise instead of copying them whole.
//
// The pixels are box-averaged by a power of two on the way in (the
// equivalent of libjpeg's scale-on-load that sharp uses for JPEG), keeping
// the long edge at least `minLongEdge`, so that a 12 MP photo crosses
// threads as ~9 MiB instead of ~36 MiB.

export interface RawPixels {
  width: number
  height: number
  /** 3 (RGB) or 4 (RGBA, unassociated alpha unless premultiplied). */
  channels: 3 | 4
  premultiplied: boolean
  /** Rows of width x channels bytes, `stride` bytes apart. */
  data: Uint8Array
  stride: number
}

const STRIP_BYTES = 64 * 1024

/** The largest power of two that keeps the long edge at least `minLongEdge` (1 = no shrink). */
export function shrinkFactor (width: number, height: number, minLongEdge: number): number {
  let factor = 1
  while (Math.floor(Math.max(width, height) / (factor * 2)) >= minLongEdge) factor *= 2
  return factor
}

export function encodeRawTiff (pixels: RawPixels, options: { minLongEdge: number, icc?: Uint8Array | undefined }): { tiff: ArrayBuffer, width: number, height: number } {
  const factor = shrinkFactor(pixels.width, pixels.height, options.minLongEdge)
  const width = Math.max(1, Math.floor(pixels.width / factor))
  const height = Math.max(1, Math.floor(pixels.height / factor))
  const channels = pixels.channels
  const rowBytes = width * channels
  const rowsPerStrip = Math.max(1, Math.floor(STRIP_BYTES / rowBytes))
  const strips = Math.ceil(height / rowsPerStrip)
  const icc = options.icc

  type Entry = [tag: number, type: number, values: number[] | Uint8Array]
  const SHORT = 3
  const LONG = 4
  const UNDEFINED = 7
  const entries: Entry[] = [
    [256, LONG, [width]],
    [257, LONG, [height]],
    [258, SHORT, new Array<number>(channels).fill(8)],
    [259, SHORT, [1]], // no compression
    [262, SHORT, [2]], // RGB
    [273, LONG, new Array<number>(strips).fill(0)], // strip offsets, filled below
    [277, SHORT, [channels]],
    [278, LONG, [rowsPerStrip]],
    [279, LONG, Array.from({ length: strips }, (_, i) => Math.min(rowsPerStrip, height - i * rowsPerStrip) * rowBytes)],
    [284, SHORT, [1]] // chunky
  ]
  if (channels === 4) entries.push([338, SHORT, [pixels.premultiplied ? 1 : 2]])
  if (icc && icc.length > 0) entries.push([34675, UNDEFINED, icc])

  const size = (type: number) => (type === LONG ? 4 : type === SHORT ? 2 : 1)
  const ifdBytes = 2 + entries.length * 12 + 4
  let extra = 0
  for (const [, type, values] of entries) {
    const bytes = values.length * size(type)
    if (bytes > 4) extra += bytes + (bytes & 1)
  }
  const pixelStart = 8 + ifdBytes + extra
  const tiff = new ArrayBuffer(pixelStart + rowBytes * height)
  const view = new DataView(tiff)
  const bytes = new Uint8Array(tiff)
  const offsets = entries.find(([tag]) => tag === 273)![2] as number[]
  for (let i = 0; i < strips; i++) offsets[i] = pixelStart + i * rowsPerStrip * rowBytes

  view.setUint16(0, 0x4949)
  view.setUint16(2, 42, true)
  view.setUint32(4, 8, true)
  view.setUint16(8, entries.length, true)
  let overflow = 8 + ifdBytes
  entries.forEach(([tag, type, values], i) => {
    const at = 10 + i * 12
    view.setUint16(at, tag, true)
    view.setUint16(at + 2, type, true)
    view.setUint32(at + 4, values.length, true)
    const length = values.length * size(type)
    let target = at + 8
    if (length > 4) {
      view.setUint32(at + 8, overflow, true)
      target = overflow
      overflow += length + (length & 1)
    }
    if (values instanceof Uint8Array) {
      bytes.set(values, target)
    } else {
      values.forEach((value, j) => {
        if (type === LONG) view.setUint32(target + j * 4, value, true)
        else view.setUint16(target + j * 2, value, true)
      })
    }
  })
  view.setUint32(8 + 2 + entries.length * 12, 0, true)

  shrinkInto(pixels, factor, bytes.subarray(pixelStart), width, height)
  return { tiff, width, height }
}

/** Box average of factor x factor blocks (factor 1: a copy without the row padding). */
function shrinkInto (pixels: RawPixels, factor: number, out: Uint8Array, width: number, height: number): void {
  const { data, stride, channels } = pixels
  const rowBytes = width * channels
  if (factor === 1) {
    for (let y = 0; y < height; y++) out.set(data.subarray(y * stride, y * stride + rowBytes), y * rowBytes)
    return
  }
  const area = factor * factor
  const sums = new Uint32Array(rowBytes)
  for (let y = 0; y < height; y++) {
    sums.fill(0)
    for (let dy = 0; dy < factor; dy++) {
      const row = (y * factor + dy) * stride
      for (let x = 0; x < width; x++) {
        const source = row + x * factor * channels
        const target = x * channels
        for (let dx = 0; dx < factor; dx++) {
          const pixel = source + dx * channels
          for (let c = 0; c < channels; c++) sums[target + c]! += data[pixel + c]!
        }
      }
    }
    const line = y * rowBytes
    for (let i = 0; i < rowBytes; i++) out[line + i] = Math.round(sums[i]! / area)
  }
}
