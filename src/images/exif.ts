// Reads the Orientation tag (274) from IFD0 of a TIFF structure: a TIFF
// file, or the EXIF block of a JPEG (APP1 after "Exif\0\0"), a WebP (EXIF
// chunk) or a PNG (eXIf chunk). Only what orientation needs, nothing else:
// any inconsistency or truncation gives undefined.
import { isOrientation } from './orientation.js'

const ORIENTATION_TAG = 274
const TYPE_SHORT = 3

/** The Orientation (1-8) of a TIFF structure starting at `tiff`, or undefined. */
export function exifOrientation (tiff: Uint8Array): number | undefined {
  if (tiff.length < 8) return undefined
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength)
  const order = view.getUint16(0)
  if (order !== 0x4949 && order !== 0x4d4d) return undefined
  const little = order === 0x4949
  if (view.getUint16(2, little) !== 42) return undefined
  const ifd = view.getUint32(4, little)
  if (ifd < 8 || ifd + 2 > tiff.length) return undefined
  const count = view.getUint16(ifd, little)
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12
    if (entry + 12 > tiff.length) return undefined
    if (view.getUint16(entry, little) !== ORIENTATION_TAG) continue
    if (view.getUint16(entry + 2, little) !== TYPE_SHORT || view.getUint32(entry + 4, little) !== 1) return undefined
    const value = view.getUint16(entry + 8, little)
    return isOrientation(value) ? value : undefined
  }
  return undefined
}

/** Strips the "Exif\0\0" header some writers put before the TIFF structure (WebP, PNG). */
export function exifPayload (block: Uint8Array): Uint8Array {
  const header = [0x45, 0x78, 0x69, 0x66, 0, 0]
  return header.every((byte, i) => block[i] === byte) ? block.subarray(6) : block
}
