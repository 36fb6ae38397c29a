// Readable, unique, safe names inside an archive. A stored file name is
// already sanitised for display, but inside a ZIP "/" makes folders, ".."
// climbs out of them on careless extractors, and Windows refuses : * ? " < > |
// and trailing dots. Names are unique ignoring case (Windows and macOS
// extract "a.png" and "A.png" to one file): a repeat becomes "name (2).ext".
// eslint-disable-next-line no-control-regex -- control characters are what it replaces
const UNSAFE = /[\u0000-\u001f\u007f/\\:*?"<>|]/g
const MAX_NAME = 180

export class ArchiveNames {
  readonly #taken = new Set<string>()

  constructor (reserved: string[] = []) {
    for (const name of reserved) this.#taken.add(name.toLowerCase())
  }

  /** A name for this file, in `folder` ("" for the top level), never given out before. */
  take (folder: string, fileName: string): string {
    const clean = safeName(fileName)
    const dot = clean.lastIndexOf('.')
    const [stem, ext] = dot > 0 ? [clean.slice(0, dot), clean.slice(dot)] : [clean, '']
    const prefix = folder === '' ? '' : `${safeName(folder)}/`
    for (let n = 1; ; n++) {
      const candidate = `${prefix}${n === 1 ? stem : `${stem} (${n})`}${ext}`
      if (!this.#taken.has(candidate.toLowerCase())) {
        this.#taken.add(candidate.toLowerCase())
        return candidate
      }
    }
  }
}

function safeName (name: string): string {
  let clean = name.normalize('NFC').replace(UNSAFE, '_').replace(/^[\s.]+|[\s.]+$/g, '')
  // Shortened by code points, so no emoji is cut in half.
  const chars = [...clean]
  if (chars.length > MAX_NAME) {
    const dot = chars.lastIndexOf('.')
    const ext = dot > 0 && chars.length - dot <= 16 ? chars.slice(dot) : []
    clean = [...chars.slice(0, MAX_NAME - ext.length), ...ext].join('')
  }
  return clean === '' ? 'file' : clean
}
