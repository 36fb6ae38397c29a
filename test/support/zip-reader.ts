// Reads an archive with Python's zipfile, an implementation independent of
// the one that wrote it (UTF-8 names, ZIP64): every entry's name in archive
// order, its SHA-256 and size (streamed, never buffered whole), each CRC-32
// checked, and the text of manifest.json.
import { spawn } from 'node:child_process'
import { diesWithParent } from './process.js'

const SCRIPT = `
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    bad = z.testzip()
    entries = []
    for info in z.infolist():
        digest = hashlib.sha256()
        with z.open(info) as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                digest.update(block)
        entries.append({'name': info.filename, 'sha256': digest.hexdigest(), 'size': info.file_size, 'zip64': info.file_size >= 0xFFFFFFFF or info.header_offset >= 0xFFFFFFFF})
    manifest = z.read('manifest.json').decode('utf-8') if 'manifest.json' in z.namelist() else None
    json.dump({'badEntry': bad, 'entries': entries, 'manifest': manifest}, sys.stdout)
`

export interface ZipContents {
  /** The first entry whose CRC-32 is wrong, or null. */
  badEntry: string | null
  entries: Array<{ name: string, sha256: string, size: number, zip64: boolean }>
  manifest: string | null
}

export function readZip (file: string): Promise<ZipContents> {
  return new Promise((resolve, reject) => {
    const child = spawn(...diesWithParent('python3', ['-c', SCRIPT, file]), { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => { out += String(chunk) })
    child.stderr.on('data', (chunk: Buffer) => { err += String(chunk) })
    child.once('error', reject)
    child.once('close', (code) => code === 0 ? resolve(JSON.parse(out) as ZipContents) : reject(new Error(`reading ${file}: exit ${code}: ${err}`)))
  })
}
