// Location never leaves with an original: for JPEG, PNG, WebP and
// HEIF/HEIC/AVIF uploads, a transform that removes GPS data and device
// identifiers (serial numbers, owner name, maker notes) from the metadata as
// the bytes stream to storage. It only ever overwrites bytes inside metadata
// structures, keeping every length and offset, so the stored file has the
// uploaded file's size and layout, the same pixels, orientation and colour
// profile, and stays valid for every reader (no re-encoding).
//
// Memory: at most one metadata structure is held, never the file. The
// largest is `maxMetadataBytes` (default 1 MiB): a HEIF meta box, a HEIF
// Exif/XMP item span, a WebP EXIF chunk, a PNG eXIf or compressed text chunk
// (and its inflated text). JPEG holds at most two 64 KiB segments; XMP in
// PNG and WebP streams. A file whose metadata does not fit is refused
// (MetadataUnstrippableError, 422): storing it unstripped would break the
// promise. A file that is truncated or does not parse passes unchanged past
// the point where it stops making sense.
import type { Transform } from 'node:stream'
import { essence } from '../content-type.js'
import { heifProgram } from './heif.js'
import { jpegProgram } from './jpeg.js'
import { pngProgram } from './png.js'
import { type Program, type ProgramContext, ProgramStream } from './stream-program.js'
import { webpProgram } from './webp.js'

export { MetadataUnstrippableError } from './errors.js'

export const DEFAULT_MAX_METADATA_BYTES = 1024 * 1024

export interface LocationStripperOptions {
  /** Largest metadata structure held in memory; a larger one fails the upload (422). */
  maxMetadataBytes?: number
}

const PROGRAMS: ReadonlyMap<string, (context: ProgramContext) => Program> = new Map([
  ['image/jpeg', jpegProgram],
  ['image/png', pngProgram],
  ['image/apng', pngProgram],
  ['image/webp', webpProgram],
  ['image/heic', heifProgram],
  ['image/heif', heifProgram],
  ['image/heic-sequence', heifProgram],
  ['image/heif-sequence', heifProgram],
  ['image/avif', heifProgram]
])

/** The media types (as detected from the bytes) whose metadata is stripped. */
export const STRIPPED_TYPES: readonly string[] = [...PROGRAMS.keys()]

export interface LocationStripper extends Transform {
  /** GPS blocks, identifier tags and XMP properties removed so far. */
  readonly removed: number
}

/**
 * A transform for an upload of `contentType` (the type detected from its
 * bytes), or undefined for a type that carries no metadata this handles.
 * Put it between type detection and the size/hash meter, so that size,
 * SHA-256 and ETag are those of the stored bytes.
 */
export function createLocationStripper (contentType: string, options: LocationStripperOptions = {}): LocationStripper | undefined {
  const program = PROGRAMS.get(essence(contentType))
  if (!program) return undefined
  return new ProgramStream(program, options.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES)
}
