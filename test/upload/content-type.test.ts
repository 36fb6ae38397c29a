// detectContentType decides the type from the bytes, never from the client's
// label; isTypeAllowed and essence apply the allow-list.
import { crc32, deflateRawSync } from 'node:zlib'
import t from 'tap'
import { detectContentType, essence, isTypeAllowed } from '../../src/upload/content-type.js'
import { randomChunks } from '../support/http.js'

// Minimal but real file starts (a 1x1 PNG, a JFIF header, a 1x1 GIF, a lossless WebP).
const SAMPLES = {
  'image/png': Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201ff5e8b0c0000000049454e44ae426082', 'hex'),
  'image/jpeg': Buffer.from('ffd8ffe000104a46494600010100000100010000ffdb0043', 'hex'),
  'image/gif': Buffer.from('GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;', 'latin1'),
  'image/webp': Buffer.concat([Buffer.from('RIFF\x1a\x00\x00\x00WEBPVP8L', 'latin1'), Buffer.from('0d0000002f0000001007101111888888fe0700', 'hex')]),
  'application/pdf': Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n', 'latin1'),
  'application/zip': zipWithOneFile('notes.txt', 'hello')
}

t.test('binary formats are recognised by their magic numbers, whatever was declared', async (t) => {
  for (const [type, sample] of Object.entries(SAMPLES)) {
    for (const declared of [undefined, type, 'text/plain', 'text/html', 'application/octet-stream']) {
      t.equal(await detectContentType(sample, declared), type, `${type} declared as ${declared}`)
    }
  }
})

t.test('plain UTF-8 text is text/plain; charset=utf-8', async (t) => {
  t.equal(await detectContentType(Buffer.from('Hello, world!\nSecond line.\n')), 'text/plain; charset=utf-8')
  t.equal(await detectContentType(Buffer.from('Привет, мир! ✓ 🎉')), 'text/plain; charset=utf-8', 'non-ASCII')
  t.equal(await detectContentType(Buffer.from('hello'), 'image/png'), 'text/plain; charset=utf-8', 'a false binary label is ignored')
})

t.test('a declared text format keeps its label only when the bytes are harmless text', async (t) => {
  t.equal(await detectContentType(Buffer.from('name,amount\nAnna,12\n'), 'text/csv'), 'text/csv; charset=utf-8')
  t.equal(await detectContentType(Buffer.from('name,amount\n'), 'Text/CSV; charset=latin1'), 'text/csv; charset=utf-8', 'label compared by essence')
  t.equal(await detectContentType(Buffer.from('<!DOCTYPE html><script>alert(1)</script>'), 'text/csv'), 'text/html', 'HTML labelled as CSV')
  t.equal(await detectContentType(Buffer.from('<html><body>x'), 'text/csv'), 'text/html')
})

t.test('HTML is recognised in its usual disguises', async (t) => {
  const variants = [
    '<!DOCTYPE html><html><head><title>x</title>',
    '<!doctype HTML>\n<p>hi',
    '<html>',
    '<HTML lang="en">',
    '   \n\t<html>',
    '\ufeff<html>',
    '\ufeff  \r\n<body onload="x()">',
    '<script>alert(document.cookie)</script>',
    '<iframe src="https://example.com">',
    '<!-- a comment --><div>'
  ]
  for (const text of variants) t.equal(await detectContentType(Buffer.from(text)), 'text/html', JSON.stringify(text))
})

t.test('SVG is image/svg+xml with or without an XML declaration', async (t) => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="1"/></svg>'
  t.equal(await detectContentType(Buffer.from(svg)), 'image/svg+xml', 'bare')
  t.equal(await detectContentType(Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${svg}`)), 'image/svg+xml', 'with a declaration')
  t.equal(await detectContentType(Buffer.from(`\ufeff<?xml version="1.0"?>\n<!-- drawn by hand -->\n${svg}`)), 'image/svg+xml', 'BOM, declaration, comment')
  t.equal(await detectContentType(Buffer.from(`<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n${svg}`)), 'image/svg+xml', 'with a doctype')
  t.equal(await detectContentType(Buffer.from('  <SVG>'), 'image/png'), 'image/svg+xml', 'upper case, leading spaces, image/png declared')
})

t.test('other XML is application/xml', async (t) => {
  t.equal(await detectContentType(Buffer.from('<?xml version="1.0"?>\n<note><to>Anna</to></note>')), 'application/xml')
  t.equal(await detectContentType(Buffer.from('<?xml version="1.0"?><note/>'), 'text/plain'), 'application/xml', 'declared text/plain')
})

t.test('binary that matches no format is application/octet-stream', async (t) => {
  for (const seed of [1, 2, 3]) {
    for await (const sample of randomChunks(4100, 4100, seed)) {
      t.equal(await detectContentType(sample, 'text/plain'), 'application/octet-stream', `random bytes, seed ${seed}`)
    }
  }
  // No NUL byte, so only the UTF-8 check can tell it is not text.
  const invalidUtf8 = Buffer.alloc(4100, 0)
  for (let i = 0; i < invalidUtf8.length; i++) invalidUtf8[i] = 0x80 + (i % 64)
  t.equal(await detectContentType(invalidUtf8), 'application/octet-stream', 'invalid UTF-8 without NUL bytes')
  t.equal(await detectContentType(Buffer.from('text\u0000with a NUL')), 'application/octet-stream', 'text with a NUL byte')
})

t.test('a sample cut in the middle of a multi-byte character is still text', async (t) => {
  const text = Buffer.from('Отчёт за квартал, итоги и планы') // Cyrillic: 2 bytes per letter
  const cut = text.subarray(0, 7) // "Отч" and the first byte of "ё"
  t.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(cut), 'the sample really ends inside a character')
  t.equal(await detectContentType(cut), 'text/plain; charset=utf-8')
  const emoji = Buffer.from('report 🎉').subarray(0, -2) // half of a 4-byte emoji
  t.equal(await detectContentType(emoji, 'text/csv'), 'text/csv; charset=utf-8')
})

t.test('isTypeAllowed', async (t) => {
  t.ok(isTypeAllowed('application/x-anything', undefined), 'no allow-list: everything is allowed')
  t.notOk(isTypeAllowed('image/png', []), 'an empty list allows nothing')
  const list = ['image/*', 'application/pdf', 'text/plain']
  t.ok(isTypeAllowed('application/pdf', list), 'exact type')
  t.ok(isTypeAllowed('image/png', list), 'image/* covers image/png')
  t.ok(isTypeAllowed('image/svg+xml', list), 'image/* covers image/svg+xml')
  t.notOk(isTypeAllowed('text/html', list), 'a type not listed')
  t.notOk(isTypeAllowed('application/pdfx', list), 'no prefix match on a full type')
  t.notOk(isTypeAllowed('imagex/png', list), 'image/* does not cover imagex/png')
  t.notOk(isTypeAllowed('image', list), 'a bare top-level type')
  t.ok(isTypeAllowed('text/plain; charset=utf-8', list), 'parameters are ignored')
  t.ok(isTypeAllowed('Application/PDF', list), 'the type is compared case-insensitively')
  t.ok(isTypeAllowed(' IMAGE/PNG ; q=1', list), 'spaces and case around a wildcard match')
  t.ok(isTypeAllowed('application/pdf', ['Application/PDF']), 'allow-list entries compare case-insensitively too (RFC 9110 §8.3.1)')
  t.ok(isTypeAllowed('image/png', ['IMAGE/*']), 'a wildcard entry in upper case')
})

t.test('essence strips parameters and lower-cases', async (t) => {
  t.equal(essence('Text/Plain; charset=utf-8'), 'text/plain')
  t.equal(essence('  IMAGE/SVG+XML  '), 'image/svg+xml')
  t.equal(essence('application/json'), 'application/json')
  t.equal(essence('text/html;charset=UTF-8;q=0.9'), 'text/html')
  t.equal(essence(''), '')
})

/** A real one-file ZIP archive (local header, central directory, end record), deflated. */
function zipWithOneFile (name: string, content: string): Buffer {
  const fileName = Buffer.from(name)
  const data = Buffer.from(content)
  const packed = deflateRawSync(data)
  const crc = crc32(data)
  const local = Buffer.alloc(30)
  local.writeUInt32LE(0x04034b50, 0)
  local.writeUInt16LE(20, 4) // version needed
  local.writeUInt16LE(8, 8) // deflate
  local.writeUInt32LE(crc, 14)
  local.writeUInt32LE(packed.length, 18)
  local.writeUInt32LE(data.length, 22)
  local.writeUInt16LE(fileName.length, 26)
  const central = Buffer.alloc(46)
  central.writeUInt32LE(0x02014b50, 0)
  central.writeUInt16LE(20, 4)
  central.writeUInt16LE(20, 6)
  central.writeUInt16LE(8, 10)
  central.writeUInt32LE(crc, 16)
  central.writeUInt32LE(packed.length, 20)
  central.writeUInt32LE(data.length, 24)
  central.writeUInt16LE(fileName.length, 28)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(1, 8)
  end.writeUInt16LE(1, 10)
  end.writeUInt32LE(central.length + fileName.length, 12)
  end.writeUInt32LE(local.length + fileName.length + packed.length, 16)
  return Buffer.concat([local, fileName, packed, central, fileName, end])
}
