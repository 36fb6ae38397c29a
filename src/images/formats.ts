// The raster formats the image engine knows, and how a detected content type
// (src/upload/content-type.ts, from file-type) maps onto them.
import { essence } from '../upload/content-type.js'

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'avif' | 'heic' | 'heif' | 'tiff' | 'bmp'

/** The formats a preview is written in. */
export type PreviewFormat = 'webp' | 'jpeg' | 'png'

export const PREVIEW_CONTENT_TYPES: Readonly<Record<PreviewFormat, string>> = {
  webp: 'image/webp',
  jpeg: 'image/jpeg',
  png: 'image/png'
}

const BY_CONTENT_TYPE: ReadonlyMap<string, ImageFormat> = new Map([
  ['image/jpeg', 'jpeg'],
  ['image/png', 'png'],
  ['image/apng', 'png'],
  ['image/gif', 'gif'],
  ['image/webp', 'webp'],
  ['image/avif', 'avif'],
  ['image/heic', 'heic'],
  ['image/heic-sequence', 'heic'],
  ['image/heif', 'heif'],
  ['image/heif-sequence', 'heif'],
  ['image/tiff', 'tiff'],
  ['image/bmp', 'bmp']
])

/** The raster format of a detected content type, or undefined for anything else (SVG included). */
export function imageFormatOf (contentType: string): ImageFormat | undefined {
  return BY_CONTENT_TYPE.get(essence(contentType))
}

/**
 * The fallback for clients that accept no WebP: PNG when the image has
 * transparency (JPEG has no alpha channel), JPEG otherwise.
 */
export function fallbackFormat (hasAlpha: boolean): PreviewFormat {
  return hasAlpha ? 'png' : 'jpeg'
}
