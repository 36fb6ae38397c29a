// Removes GPS data and device identifiers from a TIFF structure (the body of
// EXIF in JPEG APP1, PNG eXIf, WebP EXIF and the HEIF Exif item), in place:
// the structure keeps its length and every offset in it stays valid.
//
// - An entry is removed by compacting its IFD: the entries after it move up
//   one slot (they stay sorted), the count and the next-IFD offset are
//   rewritten, and the freed slot is zeroed. Values elsewhere are addressed
//   by absolute offsets, so nothing else moves.
// - The data a removed entry points to is zeroed, and so is the whole GPS IFD
//   with its values: a reader finds neither the pointer nor the numbers.
//
// Everything is bounds-checked against [start, end): an offset or a count
// that points outside is clipped, IFDs are visited once each, and the work
// is bounded by the size of the structure. A structure that needs more work
// than a well-formed one of its size ever could (overlapping IFDs) is refused.
import { MetadataUnstrippableError } from './errors.js'

const GPS_IFD = 0x8825
const EXIF_IFD = 0x8769
const INTEROP_IFD = 0xa005
const SUB_IFDS = 0x014a

/**
 * Entries removed besides the GPS pointer. All are constant for a device, so
 * they link every photo it ever took, like a serial number:
 * BodySerialNumber, LensSerialNumber, CameraSerialNumber (DNG), the
 * CameraOwnerName (which may name someone else than the sender), and the
 * MakerNote, where vendors keep serial numbers (Canon, Nikon, Sony...) and
 * sometimes a location. ImageUniqueID stays: it names one picture, not the
 * device, and photo tools use it to find duplicates.
 */
export const REMOVED_TAGS: ReadonlySet<number> = new Set([0xa431, 0xa435, 0xc62f, 0xa430, 0x927c])

// Bytes per value of each TIFF field type (TIFF 6.0 §2, plus the BigTIFF
// 8-byte types a reader may still size).
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8 }

const MAX_IFDS = 256
const MAX_SUB_IFDS = 64
const ENTRY = 12

interface Entry {
  tag: number
  type: number
  count: number
  /** The 4 value bytes, read as an offset (meaningful when the value does not fit inline). */
  value: number
  raw: Buffer
}

/**
 * Scrubs the TIFF structure whose header starts at `start` and which may
 * not extend past `end`. Returns how many items were removed (0: unchanged;
 * also for anything that is not a TIFF header).
 */
export function scrubTiff (buf: Buffer, start: number, end: number): number {
  end = Math.min(end, buf.length)
  if (start < 0 || end - start < 8) return 0
  const little = buf[start] === 0x49 && buf[start + 1] === 0x49
  if (!little && !(buf[start] === 0x4d && buf[start + 1] === 0x4d)) return 0
  const u16 = (at: number) => little ? buf.readUInt16LE(at) : buf.readUInt16BE(at)
  const u32 = (at: number) => little ? buf.readUInt32LE(at) : buf.readUInt32BE(at)
  const w16 = (at: number, value: number) => little ? buf.writeUInt16LE(value, at) : buf.writeUInt16BE(value, at)
  const w32 = (at: number, value: number) => little ? buf.writeUInt32LE(value, at) : buf.writeUInt32BE(value, at)
  if (u16(start + 2) !== 42) return 0

  // Zeroes [from, to) relative to the header, clipped to the structure and
  // never over the 8-byte header itself.
  const zero = (from: number, to: number) => {
    const a = Math.max(start + 8, start + from)
    const b = Math.min(end, start + to)
    if (b > a) buf.fill(0, a, b)
  }
  const valueBytes = (entry: Entry) => (TYPE_SIZE[entry.type] ?? 1) * entry.count
  const zeroValue = (entry: Entry) => {
    const size = valueBytes(entry)
    if (size > 4) zero(entry.value, entry.value + size)
  }
  // Entries of the IFD at `rel` that lie inside the structure.
  const readIfd = (rel: number): { entries: Entry[], declared: number } | undefined => {
    const at = start + rel
    if (rel < 8 || at + 2 > end) return undefined
    const declared = u16(at)
    const fit = Math.min(declared, Math.floor((end - at - 2) / ENTRY))
    budget -= fit
    if (budget < 0) throw new MetadataUnstrippableError('its EXIF directories overlap')
    const entries: Entry[] = []
    for (let i = 0; i < fit; i++) {
      const e = at + 2 + i * ENTRY
      entries.push({ tag: u16(e), type: u16(e + 2), count: u32(e + 4), value: u32(e + 8), raw: Buffer.from(buf.subarray(e, e + ENTRY)) })
    }
    return { entries, declared }
  }

  // A well-formed structure has at most one entry per 12 bytes in all its IFDs.
  let budget = Math.floor((end - start) / ENTRY) + 16
  let removed = 0
  const seen = new Set<number>()
  const queue: number[] = [u32(start + 4)]
  while (queue.length > 0) {
    const rel = queue.shift()!
    if (seen.has(rel)) continue
    if (seen.size >= MAX_IFDS) throw new MetadataUnstrippableError('its EXIF has too many directories')
    seen.add(rel)
    const ifd = readIfd(rel)
    if (!ifd) continue
    const at = start + rel
    const nextAt = at + 2 + ifd.declared * ENTRY
    const next = nextAt + 4 <= end && ifd.entries.length === ifd.declared ? u32(nextAt) : undefined
    if (next !== undefined && next !== 0) queue.push(next)

    const kept: Entry[] = []
    for (const entry of ifd.entries) {
      if (entry.tag === GPS_IFD) {
        removed++
        if (!seen.has(entry.value)) {
          seen.add(entry.value)
          const gps = readIfd(entry.value)
          if (gps) {
            for (const g of gps.entries) zeroValue(g)
            zero(entry.value, entry.value + 2 + gps.entries.length * ENTRY + 4)
          }
        }
      } else if (REMOVED_TAGS.has(entry.tag)) {
        removed++
        zeroValue(entry)
      } else {
        kept.push(entry)
        if (entry.tag === EXIF_IFD || entry.tag === INTEROP_IFD) {
          if (entry.count >= 1) queue.push(entry.value)
        } else if (entry.tag === SUB_IFDS && entry.count >= 1) {
          if (entry.count === 1) {
            queue.push(entry.value)
          } else {
            for (let i = 0; i < Math.min(entry.count, MAX_SUB_IFDS); i++) {
              const p = start + entry.value + i * 4
              if (entry.value >= 8 && p + 4 <= end) queue.push(u32(p))
            }
          }
        }
      }
    }
    if (kept.length === ifd.entries.length) continue

    // Compact: count, the kept entries in their order, the next-IFD offset,
    // then zeroes up to where the old directory ended.
    const oldEnd = Math.min(end, at + 2 + ifd.entries.length * ENTRY + (next === undefined ? 0 : 4))
    w16(at, kept.length)
    kept.forEach((entry, i) => entry.raw.copy(buf, at + 2 + i * ENTRY))
    let tail = at + 2 + kept.length * ENTRY
    if (next !== undefined) {
      w32(tail, next)
      tail += 4
    }
    if (oldEnd > tail) buf.fill(0, tail, oldEnd)
  }
  return removed
}

/**
 * Where the TIFF header of an EXIF block starts: after an "Exif\0\0"
 * (or "Exif\0\xff") prefix when there is one, else at `start`.
 */
export function tiffStart (buf: Buffer, start: number): number {
  return buf.length >= start + 6 && buf.toString('latin1', start, start + 5) === 'Exif\0' ? start + 6 : start
}
