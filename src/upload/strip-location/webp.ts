// WebP (RIFF container, RFC 9649 §2.7): walks the chunks of an extended
// (VP8X) file and rewrites, in place, the "EXIF" chunk (a TIFF structure,
// held whole, at most the cap; some writers prefix it with "Exif\0\0") and
// the "XMP " chunk (scrubbed as it streams). Chunk sizes and the VP8X flags
// stay as they are; RIFF has no checksums. A simple (VP8/VP8L only) file has
// no metadata and passes unchanged, as do bytes that break the structure.
import { MetadataUnstrippableError } from './errors.js'
import { filter, pass, type Program, type ProgramContext, read } from './stream-program.js'
import { scrubTiff, tiffStart } from './tiff.js'
import { XmpScrubber } from './xmp.js'

export function * webpProgram (context: ProgramContext): Program {
  const header = yield * read(12)
  context.emit(header)
  if (header.length < 12 || header.toString('latin1', 0, 4) !== 'RIFF' || header.toString('latin1', 8, 12) !== 'WEBP') return
  for (;;) {
    const head = yield * read(8)
    context.emit(head)
    if (head.length < 8) return
    const type = head.toString('latin1', 0, 4)
    const size = head.readUInt32LE(4)
    // Chunks are padded to an even size (RFC 9649 §2.4).
    const padded = size + (size & 1)
    if (type === 'EXIF') {
      if (size > context.maxBytes) throw new MetadataUnstrippableError(`its WebP EXIF chunk is over ${context.maxBytes} bytes`)
      const data = yield * read(padded)
      context.removed += scrubTiff(data, tiffStart(data, 0), Math.min(size, data.length))
      context.emit(data)
      if (data.length < padded) return
    } else if (type === 'XMP ') {
      const scrubber = new XmpScrubber()
      const moved = yield * filter(size, { push: (data) => scrubber.write(data) })
      context.emit(...scrubber.end())
      context.removed += scrubber.blanked
      if (moved < size || (yield * pass(padded - size)) < padded - size) return
    } else if ((yield * pass(padded)) < padded) {
      return
    }
  }
}
