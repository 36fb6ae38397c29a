// A real PNG of exactly `bytes` bytes (noise pixels, so it does not
// compress; a tEXt chunk pads it to the size), so the service detects
// image/png and serves it inline as it serves chat photos.
import { deflateSync } from 'node:zlib'

const CRC_TABLE = Array.from({ length: 256 }, (_v, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32 (data: Buffer): number {
  let c = 0xffffffff
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk (type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const out = Buffer.alloc(body.length + 8)
  out.writeUInt32BE(data.length, 0)
  body.copy(out, 4)
  out.writeUInt32BE(crc32(body), body.length + 4)
  return out
}

/** An RGB PNG of `side` x `side` random pixels, padded to exactly `bytes`. */
export function noisePng (bytes: number, side = 80, random: (n: number) => Buffer): Buffer {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(side, 0)
  header.writeUInt32BE(side, 4)
  header.set([8, 2, 0, 0, 0], 8) // 8-bit, truecolour, deflate, no filter method, no interlace
  const rows = Array.from({ length: side }, () => Buffer.concat([Buffer.from([0]), random(side * 3)]))
  const parts = [
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows), { level: 0 }))
  ]
  const end = chunk('IEND', Buffer.alloc(0))
  const used = parts.reduce((n, p) => n + p.length, 0) + end.length
  const keyword = Buffer.from('Comment\0', 'latin1')
  const padding = bytes - used - 12 - keyword.length
  if (padding < 0) throw new Error(`a ${side}x${side} PNG is larger than ${bytes} bytes`)
  return Buffer.concat([...parts, chunk('tEXt', Buffer.concat([keyword, Buffer.alloc(padding, 0x2e)])), end])
}
