// JPEG (ITU T.81 Annex B; JFIF/EXIF layout): walks the marker segments and
// rewrites, in place, the ones that carry location or device identifiers:
// - APP1 "Exif\0\0": the TIFF structure (tiff.ts);
// - APP1 "http://ns.adobe.com/xap/1.0/\0": the XMP packet (xmp.ts);
// - APP1 "http://ns.adobe.com/xmp/extension/\0": extended XMP, one packet
//   split over consecutive segments, scrubbed as one stream across them;
// - APP13 "Photoshop 3.0\0": the copies of EXIF (resources 0x0422, 0x0423)
//   and XMP (0x0424) that Photoshop keeps there.
// Every other segment, the entropy-coded scans and the ICC profile (APP2)
// pass unchanged. A segment is at most 65,535 bytes and only these are read
// into memory: one at a time, two while an extended-XMP property straddles
// segments. Images appended after EOI (MPF: a second picture, a depth or
// gain map) are walked the same way; other trailing bytes, or bytes that
// break the marker structure, pass unchanged.
import { type ProgramContext, pass, passUntil, type Program, read, type Step } from './stream-program.js'
import { scrubTiff, tiffStart } from './tiff.js'
import { XmpScrubber } from './xmp.js'

const XMP = Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1')
const XMP_EXTENSION = Buffer.from('http://ns.adobe.com/xmp/extension/\0', 'latin1')
const PHOTOSHOP = Buffer.from('Photoshop 3.0\0', 'latin1')
// Extended XMP: signature, 32-byte GUID, full length and offset (4 bytes each).
const EXTENSION_HEADER = XMP_EXTENSION.length + 32 + 8

const FF = Buffer.from([0xff])
const APP1 = 0xe1
const APP13 = 0xed
const SOS = 0xda
const EOI = 0xd9
const DATA = -2
const END = -1

const isRestart = (code: number) => code >= 0xd0 && code <= 0xd7
const isStandalone = (code: number) => isRestart(code) || code === 0xd8 || code === EOI || code === 0x01
const startsWith = (data: Buffer, prefix: Buffer) => data.length >= prefix.length && data.subarray(0, prefix.length).equals(prefix)

/** In entropy-coded data, the next 0xFF that may start a marker (not a stuffed 0xFF00 or a restart marker). */
function nextMarker (chunk: Buffer, from: number): number {
  let at = chunk.indexOf(0xff, from)
  while (at >= 0 && at + 1 < chunk.length) {
    const next = chunk[at + 1]!
    if (next !== 0x00 && !isRestart(next)) return at
    at = chunk.indexOf(0xff, at + 2)
  }
  return at
}

export function * jpegProgram (context: ProgramContext): Program {
  for (;;) {
    const soi = yield * read(2)
    context.emit(soi)
    if (soi.length < 2 || soi[0] !== 0xff || soi[1] !== 0xd8) return
    if (!(yield * image(context))) return
  }
}

/**
 * After a 0xFF has been read (and not sent): the marker code, skipping fill
 * bytes (T.81 B.1.1.2). In a scan, 0xFF00 and restart markers are data: they
 * are sent and DATA is returned. END: the input ended (the 0xFF is sent).
 */
function * codeAfterFF (context: ProgramContext, inScan: boolean, beforeSending: () => void = () => {}): Step<number> {
  for (;;) {
    const next = yield * read(1)
    const code = next.length === 0 ? END : next[0]!
    if (code === END || code === 0xff) {
      beforeSending()
      context.emit(FF)
      if (code === END) return END
    } else if (inScan && (code === 0x00 || isRestart(code))) {
      context.emit(FF, next)
      return DATA
    } else {
      return code
    }
  }
}

/** The segments of one image, after its SOI. True after its EOI; false: the rest passes unchanged. */
function * image (context: ProgramContext): Step<boolean> {
  const extended = new ExtendedXmp(context)
  let code = END
  for (;;) {
    if (code === END) {
      const first = yield * read(1)
      if (first.length === 0 || first[0] !== 0xff) {
        extended.flush()
        context.emit(first)
        return false
      }
      // Held extended-XMP segments go out before any byte that follows them.
      code = yield * codeAfterFF(context, false, () => extended.flush())
      if (code === END) return false
    }
    const marker = Buffer.from([0xff, code])
    if (isStandalone(code)) {
      extended.flush()
      context.emit(marker)
      if (code === EOI) return true
      code = END
      continue
    }
    const size = yield * read(2)
    const length = size.length === 2 ? size.readUInt16BE(0) : 0
    if (length < 2) {
      extended.flush()
      context.emit(marker, size)
      return false
    }
    const header = Buffer.concat([marker, size])
    if (code === APP1 || code === APP13) {
      const payload = yield * read(length - 2)
      if (code === APP1 && startsWith(payload, XMP_EXTENSION) && payload.length >= EXTENSION_HEADER) {
        extended.add(header, payload)
      } else {
        extended.flush()
        if (code === APP1) scrubApp1(context, payload)
        else scrubPhotoshop(context, payload)
        context.emit(header, payload)
      }
      if (payload.length < length - 2) {
        extended.flush()
        return false
      }
    } else {
      extended.flush()
      context.emit(header)
      if ((yield * pass(length - 2)) < length - 2) return false
    }
    if (code !== SOS) {
      code = END
      continue
    }
    // Entropy-coded data runs to the next marker that is not data.
    do {
      if (!(yield * passUntil(nextMarker))) return false
      yield * read(1) // the 0xFF nextMarker stopped at, held until the code is known
      code = yield * codeAfterFF(context, true)
      if (code === END) return false
    } while (code === DATA)
  }
}

function scrubApp1 (context: ProgramContext, payload: Buffer): void {
  if (payload.length >= 6 && payload.toString('latin1', 0, 5) === 'Exif\0') {
    context.removed += scrubTiff(payload, 6, payload.length)
  } else if (startsWith(payload, XMP)) {
    context.removed += XmpScrubber.scrub(payload.subarray(XMP.length))
  }
}

// Photoshop image resource blocks: signature, id, even-padded Pascal name,
// size, even-padded data.
function scrubPhotoshop (context: ProgramContext, payload: Buffer): void {
  if (!startsWith(payload, PHOTOSHOP)) return
  let at = PHOTOSHOP.length
  while (at + 7 <= payload.length) {
    const id = payload.readUInt16BE(at + 4)
    const nameLength = payload[at + 6]!
    const sizeAt = at + 6 + ((nameLength + 2) & ~1)
    if (sizeAt + 4 > payload.length) return
    const dataStart = sizeAt + 4
    const dataEnd = Math.min(payload.length, dataStart + payload.readUInt32BE(sizeAt))
    if (id === 0x0422 || id === 0x0423) context.removed += scrubTiff(payload, tiffStart(payload, dataStart), dataEnd)
    else if (id === 0x0424) context.removed += XmpScrubber.scrub(payload.subarray(dataStart, dataEnd))
    at = dataStart + ((dataEnd - dataStart + 1) & ~1)
  }
}

/**
 * Extended XMP segments are scrubbed as one stream. A segment is sent once
 * nothing in it can change any more: at once, unless a tag or attribute name
 * that may be sensitive runs into the next segment.
 */
class ExtendedXmp {
  readonly #context: ProgramContext
  #scrubber: XmpScrubber | undefined
  #held: Array<{ segment: Buffer[], end: number }> = []
  #fed = 0

  constructor (context: ProgramContext) {
    this.#context = context
  }

  add (header: Buffer, payload: Buffer): void {
    const scrubber = this.#scrubber ??= new XmpScrubber()
    const data = payload.subarray(EXTENSION_HEADER)
    scrubber.write(data)
    this.#fed += data.length
    this.#held.push({ segment: [header, payload], end: this.#fed })
    while (this.#held.length > 0 && this.#held[0]!.end <= scrubber.settled) this.#context.emit(...this.#held.shift()!.segment)
  }

  /** A segment of another kind follows (or the image ends): the run is complete. */
  flush (): void {
    if (!this.#scrubber) return
    this.#scrubber.end()
    this.#context.removed += this.#scrubber.blanked
    for (const { segment } of this.#held) this.#context.emit(...segment)
    this.#held = []
    this.#scrubber = undefined
    this.#fed = 0
  }
}
