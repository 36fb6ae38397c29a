// PNG (PNG 3rd ed. §5): walks the chunks and rewrites, in place, the ones
// that carry location or device identifiers, with a new CRC:
// - eXIf: a TIFF structure (tiff.ts), held whole (at most the cap);
// - "XML:com.adobe.xmp" uncompressed (iTXt or tEXt): the XMP packet is
//   scrubbed as it streams, so its size is not bounded by the cap;
// - compressed XMP and "Raw profile type" text chunks: held whole (at most
//   the cap, inflated too) and rewritten by png-text.ts.
// Every other chunk (IHDR, iCCP, IDAT...) passes unchanged, byte for byte;
// so does a chunk that needs no change (its CRC is kept as it was, even a
// wrong one). Bytes that break the chunk structure pass unchanged.
import { crc32 } from 'node:zlib'
import { MetadataUnstrippableError } from './errors.js'
import { scrubTextChunk, textKind, textLayout } from './png-text.js'
import { filter, pass, type Program, type ProgramContext, read, type Step } from './stream-program.js'
import { scrubTiff, tiffStart } from './tiff.js'
import { XmpScrubber } from './xmp.js'

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const TEXT_TYPES = new Set(['tEXt', 'zTXt', 'iTXt'])
// A keyword is 1-79 bytes and its NUL; reading this much tells the kind.
const KEYWORD_BYTES = 80
const MAX_CHUNK = 0x7fffffff

export function * pngProgram (context: ProgramContext): Program {
  const signature = yield * read(8)
  context.emit(signature)
  if (!signature.equals(SIGNATURE)) return
  for (;;) {
    const head = yield * read(8)
    const length = head.length === 8 ? head.readUInt32BE(0) : MAX_CHUNK + 1
    if (length > MAX_CHUNK) {
      context.emit(head)
      return
    }
    const type = head.toString('latin1', 4, 8)
    let complete: boolean
    if (type === 'eXIf') {
      complete = yield * wholeChunk(context, head, length, Buffer.alloc(0), (data) => scrubTiff(data, tiffStart(data, 0), data.length))
    } else if (TEXT_TYPES.has(type)) {
      complete = yield * textChunk(context, head, type, length)
    } else {
      context.emit(head)
      complete = (yield * pass(length + 4)) === length + 4
    }
    if (!complete) return
  }
}

/**
 * Reads the rest of a chunk (its data after `start`, and the CRC), lets
 * `scrub` change the data in place, and sends it with a CRC that matches.
 * A chunk cut short by the end of the input is scrubbed as far as it goes
 * and sent without a new CRC; returns false then.
 */
function * wholeChunk (context: ProgramContext, head: Buffer, length: number, start: Buffer, scrub: (data: Buffer) => number): Step<boolean> {
  if (length > context.maxBytes) throw new MetadataUnstrippableError(`a PNG metadata chunk is over ${context.maxBytes} bytes`)
  const rest = yield * read(length - start.length + 4)
  const complete = rest.length === length - start.length + 4
  const data = Buffer.concat([start, rest.subarray(0, length - start.length)])
  const removed = scrub(data)
  context.removed += removed
  context.emit(head, data, complete && removed > 0 ? chunkCrc(head, [data]) : rest.subarray(length - start.length))
  return complete
}

function * textChunk (context: ProgramContext, head: Buffer, type: string, length: number): Step<boolean> {
  let start = yield * read(Math.min(length, KEYWORD_BYTES))
  const keywordEnd = start.indexOf(0)
  const kind = keywordEnd > 0 ? textKind(start.toString('latin1', 0, keywordEnd)) : undefined
  if (start.length < Math.min(length, KEYWORD_BYTES) || kind === undefined) {
    context.emit(head, start)
    return start.length === Math.min(length, KEYWORD_BYTES) && (yield * pass(length - start.length + 4)) === length - start.length + 4
  }
  // iTXt carries a language tag and a translated keyword before the text.
  let layout = textLayout(type, start)
  while (!layout && start.length < length) {
    if (start.length > context.maxBytes) throw new MetadataUnstrippableError(`a PNG metadata chunk is over ${context.maxBytes} bytes`)
    const more = yield * read(Math.min(length - start.length, 4096))
    start = Buffer.concat([start, more])
    if (more.length === 0) break
    layout = textLayout(type, start)
  }
  if (!layout || layout.compressed || kind === 'raw-profile') {
    return yield * wholeChunk(context, head, length, start, (data) => scrubTextChunk(type, data, kind, context.maxBytes))
  }

  // Uncompressed XMP: scrubbed while it streams; the CRC follows the bytes sent.
  let crc = crc32(head.subarray(4, 8))
  const sent = (pieces: Buffer[]) => {
    for (const piece of pieces) crc = crc32(piece, crc)
    return pieces
  }
  const scrubber = new XmpScrubber()
  context.emit(head, ...sent([start.subarray(0, layout.start)]), ...sent(scrubber.write(start.subarray(layout.start))))
  const remaining = length - start.length
  const moved = yield * filter(remaining, { push: (data) => sent(scrubber.write(data)) })
  context.emit(...sent(scrubber.end()))
  context.removed += scrubber.blanked
  if (moved < remaining) return false
  const original = yield * read(4)
  if (original.length < 4 || scrubber.blanked === 0) {
    context.emit(original)
    return original.length === 4
  }
  const computed = Buffer.alloc(4)
  computed.writeUInt32BE(crc)
  context.emit(computed)
  return true
}

/** CRC-32 of the chunk type and data (PNG §5.3). */
function chunkCrc (head: Buffer, data: Buffer[]): Buffer {
  let crc = crc32(head.subarray(4, 8))
  for (const piece of data) crc = crc32(piece, crc)
  const out = Buffer.alloc(4)
  out.writeUInt32BE(crc)
  return out
}
