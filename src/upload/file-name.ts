// File names arrive from users and are shown back to users (chat UI,
// Content-Disposition). They are cleaned for display, never trusted as paths,
// and never used in storage keys.
const MAX_BYTES = 255
const MAX_EXTENSION_BYTES = 32
// C0, DEL and C1 controls (CR, LF, NUL, ESC ...).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g // eslint-disable-line no-control-regex
// Bidirectional overrides/isolates and invisible formatting characters, which
// can disguise "exe.pdf" as "fdp.exe" (CVE-2021-42574 class).
const INVISIBLE = /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g
// Made on the first over-long name: creating it loads ICU's break-iteration
// data, ~2.5 MiB of RSS that most processes never need.
let segmenter: Intl.Segmenter | undefined
const encoder = new TextEncoder()

export const DEFAULT_FILE_NAME = 'file'

export function sanitizeFileName (raw: string | undefined): string {
  let name = (raw ?? '').normalize('NFC')
  // Keep only the last path segment, whatever the client's path separator.
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1)
  // Normalised again: removing an invisible character can join a base
  // letter and a combining mark that NFC has not composed yet.
  name = name.replace(CONTROL, '').replace(INVISIBLE, '').normalize('NFC')
  // Windows drops trailing dots and spaces; "." and ".." are not names.
  name = name.trim().replace(/[. ]+$/, '')
  if (/^\.*$/.test(name)) return DEFAULT_FILE_NAME
  return truncateKeepingExtension(name, MAX_BYTES)
}

function truncateKeepingExtension (name: string, maxBytes: number): string {
  if (byteLength(name) <= maxBytes) return name
  const dot = name.lastIndexOf('.')
  const extension = dot > 0 && byteLength(name.slice(dot)) <= MAX_EXTENSION_BYTES ? name.slice(dot) : ''
  const base = truncateToBytes(name.slice(0, name.length - extension.length), maxBytes - byteLength(extension)).trimEnd()
  // A single grapheme can exceed the limit (a letter with hundreds of marks).
  return (base === '' ? DEFAULT_FILE_NAME : base) + extension
}

/** Cuts at a grapheme boundary, so no character or emoji is split. */
function truncateToBytes (text: string, maxBytes: number): string {
  let out = ''
  let bytes = 0
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })
  for (const { segment } of segmenter.segment(text)) {
    const size = byteLength(segment)
    if (bytes + size > maxBytes) break
    out += segment
    bytes += size
  }
  return out
}

function byteLength (text: string): number {
  return encoder.encode(text).byteLength
}
