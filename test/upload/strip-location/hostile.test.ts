// Hostile structures: TIFF directories that loop, point outside or claim
// huge counts; XMP that never closes; HEIF item tables that ask for endless
// work; declared sizes far beyond the data. The stripper must finish, never
// throw anything but its deliberate refusal (MetadataUnstrippableError
// without a cause: a wrapped cause would be a bug it caught), keep the size
// when it passes a file, and never hold more than its cap: proved by
// construction, feeding far more than the cap and checking how far the
// output lags behind the input at every step.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import t, { type Test } from 'tap'
import { createLocationStripper, MetadataUnstrippableError } from '../../../src/upload/strip-location/index.js'
import { scrubTiff } from '../../../src/upload/strip-location/tiff.js'
import { XmpScrubber } from '../../../src/upload/strip-location/xmp.js'
import { buildHeif, exifItem } from '../../support/heif-builder.js'
import { chunked, oddSizes, strip } from '../../support/metadata-images.js'
import { buildTiff, withJpegSegments } from '../../support/tiff-builder.js'

// About 25 s alone; several times that on a shared, busy machine.
t.setTimeout(300_000)

const MINIMAL_JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0x12, 0x34, 0xff, 0xd9])

/** A big-endian TIFF of `size` bytes; `write` puts the hostile parts in. */
function tiff (size: number, write: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(size)
  b.write('MM', 0, 'latin1')
  b.writeUInt16BE(42, 2)
  b.writeUInt32BE(8, 4)
  write(b)
  return b
}

/** An IFD entry at `at`: tag, type, count, value/offset. */
function entry (b: Buffer, at: number, tag: number, type: number, count: number, value: number): void {
  b.writeUInt16BE(tag, at)
  b.writeUInt16BE(type, at + 2)
  b.writeUInt32BE(count, at + 4)
  b.writeUInt32BE(value, at + 8)
}

const HOSTILE_TIFFS: Record<string, Buffer> = {
  'IFD0 is its own next IFD': tiff(64, (b) => { b.writeUInt16BE(1, 8); entry(b, 10, 0x0112, 3, 1, 0x00060000); b.writeUInt32BE(8, 22) }),
  'Exif IFD points back to IFD0': tiff(64, (b) => { b.writeUInt16BE(1, 8); entry(b, 10, 0x8769, 4, 1, 8) }),
  'Exif -> Interop -> Exif cycle': tiff(96, (b) => {
    b.writeUInt16BE(1, 8); entry(b, 10, 0x8769, 4, 1, 26)
    b.writeUInt16BE(1, 26); entry(b, 28, 0xa005, 4, 1, 44)
    b.writeUInt16BE(1, 44); entry(b, 46, 0x8769, 4, 1, 26)
  }),
  'GPS pointer to IFD0 itself': tiff(64, (b) => { b.writeUInt16BE(2, 8); entry(b, 10, 0x0112, 3, 1, 0x00060000); entry(b, 22, 0x8825, 4, 1, 8) }),
  'offsets past the end': tiff(64, (b) => {
    b.writeUInt16BE(3, 8)
    entry(b, 10, 0x8769, 4, 1, 0xfffffff0); entry(b, 22, 0x8825, 4, 1, 0xffffff00); entry(b, 34, 0xa431, 2, 100, 0xffffff00)
    b.writeUInt32BE(0xfffffffc, 46)
  }),
  'huge counts': tiff(64, (b) => {
    b.writeUInt16BE(0xffff, 8)
    entry(b, 10, 0x927c, 12, 0xffffffff, 8); entry(b, 22, 0xa435, 2, 0xffffffff, 30); entry(b, 34, 0x014a, 4, 0xffffffff, 8)
  }),
  'a truncated IFD': tiff(30, (b) => { b.writeUInt16BE(40, 8); entry(b, 10, 0x8825, 4, 1, 8) }),
  'IFD offset 0 and offset inside the header': tiff(40, (b) => { b.writeUInt32BE(0, 4) }),
  'BigTIFF header': tiff(40, (b) => { b.writeUInt16BE(43, 2) }),
  'overlapping IFDs, each claiming 65535 entries': tiff(4096, (b) => {
    for (let at = 8; at + 14 < 4096; at += 2) b.writeUInt16BE(0xffff, at)
    for (let at = 10; at + 12 < 4096; at += 12) entry(b, at, 0x8769, 4, 1, 8 + ((at * 7) % 4000) * 2 / 2)
  })
}

/** Anything but a deliberate refusal is a failure (a caught bug is wrapped with a cause). */
function deliberate (t: Test, err: unknown, name: string): void {
  t.ok(err instanceof MetadataUnstrippableError && (err as Error).cause === undefined, `${name}: ${String(err)}`)
}

t.test('hostile TIFF structures: scrubTiff finishes, stays in bounds, refuses only deliberately', async (t) => {
  for (const [name, data] of Object.entries(HOSTILE_TIFFS)) {
    const copy = Buffer.from(data)
    try {
      const removed = scrubTiff(copy, 0, copy.length)
      t.type(removed, 'number', name)
    } catch (err) {
      deliberate(t, err, name)
    }
    t.equal(copy.length, data.length)
  }
})

t.test('hostile TIFF structures in JPEG, PNG, WebP and HEIF streams', async (t) => {
  const png = (data: Buffer) => {
    const head = Buffer.alloc(8)
    head.writeUInt32BE(data.length)
    head.write('eXIf', 4, 'latin1')
    return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), head, data, Buffer.alloc(4)])
  }
  const webp = (data: Buffer) => {
    const chunk = Buffer.alloc(8)
    chunk.write('EXIF', 0, 'latin1')
    chunk.writeUInt32LE(data.length, 4)
    const body = Buffer.concat([Buffer.from('WEBPVP8X\x0a\0\0\0\x08\0\0\0\0\0\0\0\0\0', 'latin1'), chunk, data, Buffer.alloc(data.length & 1)])
    const riff = Buffer.alloc(8)
    riff.write('RIFF', 0, 'latin1')
    riff.writeUInt32LE(body.length, 4)
    return Buffer.concat([riff, body])
  }
  const containers = {
    'image/jpeg': (data: Buffer) => withJpegSegments(MINIMAL_JPEG, [[0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), data])]]),
    'image/png': png,
    'image/webp': webp,
    'image/heic': (data: Buffer) => buildHeif([{ id: 1, type: 'Exif', data: exifItem(data), method: 0 }])
  }
  for (const [name, data] of Object.entries(HOSTILE_TIFFS)) {
    for (const [type, wrap] of Object.entries(containers)) {
      const file = wrap(data)
      for (const sizes of [[file.length], [1], oddSizes(50, 13)]) {
        const result = await strip(file, type, sizes).then((out) => out.length, (err: unknown) => err)
        if (typeof result === 'number') t.equal(result, file.length, `${name} in ${type}: stored at its size`)
        else deliberate(t, result, `${name} in ${type}`)
      }
    }
  }
})

t.test('random bytes after valid headers, and random flips in real structures', async (t) => {
  let seed = 42
  const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  const valid = buildTiff({ entries: [[0x0112, { short: [6] }], [0x8769, { ifd: { entries: [[0xa431, { ascii: 'SN' }], [0x927c, { undefined: Buffer.alloc(40, 1) }]] } }], [0x8825, { ifd: { entries: [[1, { ascii: 'N' }]] } }]] })
  for (let i = 0; i < 3000; i++) {
    const data = Buffer.from(valid)
    for (let flips = 1 + Math.floor(random() * 8); flips > 0; flips--) data[8 + Math.floor(random() * (data.length - 8))] = Math.floor(random() * 256)
    try {
      scrubTiff(data, 0, data.length)
    } catch (err) {
      deliberate(t, err, `flipped TIFF #${i}`)
    }
  }
  const heif = buildHeif([{ id: 1, type: 'Exif', data: exifItem(valid), method: 1 }, { id: 2, type: 'mime', contentType: 'application/rdf+xml', data: Buffer.from('<x:xmpmeta exif:GPSLatitude="1"/>'), method: 0 }])
  const jpeg = withJpegSegments(MINIMAL_JPEG, [[0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), valid])], [0xe1, Buffer.from('http://ns.adobe.com/xap/1.0/\0<a exif:GPSLatitude="1">', 'latin1')]])
  for (const [type, file] of [['image/heic', heif], ['image/jpeg', jpeg]] as const) {
    let refused = 0
    for (let i = 0; i < 300; i++) {
      const data = Buffer.from(file)
      for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) data[Math.floor(random() * data.length)] = Math.floor(random() * 256)
      const result = await strip(data, type).then((out) => out.length, (err: unknown) => err)
      if (typeof result !== 'number') {
        refused++
        deliberate(t, result, `${type} flipped #${i}`)
      } else if (result !== data.length) {
        t.fail(`${type} flipped #${i}: size changed`)
      }
    }
    t.pass(`${type}: 300 flipped files, ${refused} refused, the others stored at their size`)
  }
})

t.test('hostile XMP: never closed, endless names, deep nesting, stray quotes', async (t) => {
  const packets = {
    'an unterminated comment': '<x><!-- never closed <exif:GPSLatitude>1</exif:GPSLatitude>',
    'an unterminated attribute': '<rdf:Description exif:GPSLatitude="48,51N',
    'an endless element name': `<${'a'.repeat(100_000)}>text</a>`,
    'an endless attribute name': `<x ${'b'.repeat(100_000)}="1" exif:GPSLatitude="2"/>`,
    'deeply nested sensitive elements': '<exif:GPSx>'.repeat(50_000) + '</exif:GPSx>'.repeat(49_999),
    'markup inside values': '<x a=\'<exif:GPSLatitude>\' exif:GPSAltitude="<>\'"/><!--->--><![CDATA[<exif:GPSLatitude>]]>',
    'broken tags': '<<<//>>>= = "" <exif:GPS <exif:GPSLatitude =  ',
    'UTF-16': '\ufeff<x exif:GPSLatitude="1"/>'
  }
  for (const [name, text] of Object.entries(packets)) {
    const data = Buffer.from(text, name === 'UTF-16' ? 'utf16le' : 'utf8')
    const whole = Buffer.from(data)
    XmpScrubber.scrub(whole)
    t.equal(whole.length, data.length, `${name}: same length`)
    const scrubber = new XmpScrubber()
    const pieces = chunked(Buffer.from(data), oddSizes(5000, 13)).flatMap((piece) => scrubber.write(piece))
    pieces.push(...scrubber.end())
    t.ok(Buffer.concat(pieces).equals(whole), `${name}: same result in odd chunks`)
    if (name === 'UTF-16') t.match(whole.toString('latin1'), /^ +$/, 'UTF-16 XMP is blanked whole')
  }
})

t.test('hostile HEIF item tables: endless extents are refused, broken boxes pass', async (t) => {
  // iloc version 1 with 0-byte offsets and lengths: an extent costs no byte,
  // so 200 items of 65,535 extents each fit in 1.6 KB.
  const box = (type: string, ...payload: Buffer[]) => {
    const body = Buffer.concat(payload)
    const head = Buffer.alloc(8)
    head.writeUInt32BE(8 + body.length)
    head.write(type, 4, 'latin1')
    return Buffer.concat([head, body])
  }
  const items = Array.from({ length: 200 }, (_, i) => Buffer.from([0, i, 0, 0, 0, 0, 0xff, 0xff]))
  const iloc = box('iloc', Buffer.from([1, 0, 0, 0, 0x00, 0x00, 0, 200]), ...items)
  const meta = box('meta', Buffer.alloc(4), iloc)
  const ftyp = Buffer.from('\0\0\0\x10ftypheic\0\0\0\0', 'latin1')
  await t.rejects(strip(Buffer.concat([ftyp, meta]), 'image/heic'), { code: 'ATT_METADATA_UNSTRIPPABLE', message: /too many/ })

  for (const [name, body] of Object.entries({
    'a child box of size 0': Buffer.from('\0\0\0\0\0\0\0\0iinf\0\0\0\0', 'latin1'),
    'a child box of size 3': Buffer.from('\0\0\0\0\0\0\0\x03iloc\x01\0\0\0', 'latin1'),
    'a 64-bit size past the end': Buffer.from('\0\0\0\0\0\0\0\x01iloc\xff\xff\xff\xff\xff\xff\xff\xff', 'latin1'),
    'an infe cut short': Buffer.from('\0\0\0\0\0\0\0\x15iinf\0\0\0\0\0\x01\0\0\0\x09infe', 'latin1')
  })) {
    const box = Buffer.concat([Buffer.from('\0\0\0\0meta', 'latin1'), body])
    box.writeUInt32BE(box.length, 0)
    const file = Buffer.concat([ftyp, box])
    t.ok((await strip(file, 'image/heic')).equals(file), `${name}: passes unchanged`)
  }
})

/**
 * Streams `total` bytes (header, then `fill`) through a stripper in 64 KiB
 * chunks and returns the largest gap between bytes produced and bytes that
 * came out, sampled before each chunk is produced; or the error.
 */
async function largestLag (type: string, header: Buffer, fill: number, total: number): Promise<number | unknown> {
  const stripper = createLocationStripper(type)!
  let produced = 0
  let received = 0
  let lag = 0
  stripper.on('data', (piece: Buffer) => { received += piece.length })
  async function * source () {
    yield header
    produced += header.length
    const chunk = Buffer.alloc(64 * 1024, fill)
    while (produced < total) {
      lag = Math.max(lag, produced - received)
      yield chunk
      produced += chunk.length
    }
  }
  return await pipeline(Readable.from(source()), stripper).then(() => lag, (err: unknown) => err)
}

t.test('declared sizes past the cap are refused at once; big metadata that streams is never held', async (t) => {
  const pngExif = Buffer.from('\x89PNG\r\n\x1a\n\x7f\xff\xff\xffeXIf', 'latin1')
  const webpExif = Buffer.from('RIFF\xff\xff\xff\xffWEBPEXIF\xff\xff\xff\xff', 'latin1')
  const heifMeta = Buffer.from('\0\0\0\x01meta\0\0\0\x01\0\0\0\0', 'latin1')
  for (const [type, header] of [['image/png', pngExif], ['image/webp', webpExif], ['image/heic', heifMeta]] as const) {
    const result = await largestLag(type, header, 0x20, 64 * 1024 * 1024)
    t.type(result, MetadataUnstrippableError, `${type}: a 2-4 GB metadata block is refused without reading it`)
  }
  // 16 MiB of XMP (PNG iTXt, WebP XMP) or of JPEG scan data: the output keeps up with the input.
  const itxt = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n\x7f\xff\xff\xffiTXt', 'latin1'), Buffer.from('XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta exif:GPSLatitude="1" a="', 'latin1')])
  const xmpChunk = Buffer.from('RIFF\xff\xff\xff\xffWEBPXMP \xff\xff\xff\x7f<x:xmpmeta>', 'latin1')
  // An element or attribute name that never ends is not one that is blanked: it is not held either.
  const endlessName = Buffer.from('RIFF\xff\xff\xff\xffWEBPXMP \xff\xff\xff\x7f<x:xmpmeta><', 'latin1')
  const endlessAttribute = Buffer.from('RIFF\xff\xff\xff\xffWEBPXMP \xff\xff\xff\x7f<x:xmpmeta ', 'latin1')
  const scan = Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02])
  for (const [type, header] of [['image/png', itxt], ['image/webp', xmpChunk], ['image/webp', endlessName], ['image/webp', endlessAttribute], ['image/jpeg', scan]] as const) {
    const lag = await largestLag(type, header, 0x41, 16 * 1024 * 1024)
    t.type(lag, 'number', `${type}: streamed`)
    t.ok((lag as number) < 4 * 1024 * 1024, `${type}: the output never lagged more than 4 MiB behind (${lag} bytes)`)
  }
})
