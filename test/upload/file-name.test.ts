// sanitizeFileName: what a hostile or sloppy client can put in a file name
// must come back as one harmless, displayable name of at most 255 UTF-8 bytes.
import t, { type Test } from 'tap'
import { sanitizeFileName } from '../../src/upload/file-name.js'

const utf8 = new TextEncoder()
const bytes = (text: string) => utf8.encode(text).byteLength
const graphemes = (text: string) => [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)].map((s) => s.segment)

/** Non-empty, at most 255 bytes, and unchanged by a UTF-8 round trip (a lone surrogate would become U+FFFD). */
function assertValidName (t: Test, name: string) {
  t.ok(name.length > 0, 'not empty')
  t.equal(new TextDecoder('utf-8', { fatal: true }).decode(utf8.encode(name)), name, 're-encodes to itself')
  t.ok(bytes(name) <= 255, `at most 255 UTF-8 bytes (got ${bytes(name)})`)
}

t.test('keeps only the last path segment, for / and \\', async (t) => {
  t.equal(sanitizeFileName('../../etc/passwd'), 'passwd')
  t.equal(sanitizeFileName('C:\\Users\\x\\a.txt'), 'a.txt')
  t.equal(sanitizeFileName('dir\\sub/mixed\\name.txt'), 'name.txt')
  t.equal(sanitizeFileName('/absolute/report.pdf'), 'report.pdf')
})

t.test('removes control characters (C0, DEL, C1)', async (t) => {
  t.equal(sanitizeFileName('a\r\nb.txt'), 'ab.txt', 'CR LF')
  t.equal(sanitizeFileName('a\u0000b.txt'), 'ab.txt', 'NUL')
  t.equal(sanitizeFileName('a\tb.txt'), 'ab.txt', 'TAB')
  t.equal(sanitizeFileName('a\u007fb.txt'), 'ab.txt', 'DEL')
  t.equal(sanitizeFileName('a\u0085b\u009bc.txt'), 'abc.txt', 'C1 (NEL, CSI)')
  t.equal(sanitizeFileName('\u001b[31mred.txt'), '[31mred.txt', 'ESC of a terminal colour sequence')
})

t.test('removes bidi overrides, isolates and zero-width characters', async (t) => {
  // Displayed as "invoiceexe.pdf" when the RLO is honoured.
  t.equal(sanitizeFileName('invoice\u202Efdp.exe'), 'invoicefdp.exe', 'RIGHT-TO-LEFT OVERRIDE')
  t.equal(sanitizeFileName('a\u202Ab\u202Bc\u202Cd\u202De.txt'), 'abcde.txt', 'embeddings, pop, LRO')
  t.equal(sanitizeFileName('a\u2066b\u2067c\u2068d\u2069.txt'), 'abcd.txt', 'isolates')
  t.equal(sanitizeFileName('a\u200Bb\u200Cc\u200Dd\uFEFFe\u2060f.txt'), 'abcdef.txt', 'zero-width space/non-joiner/joiner, BOM, word joiner')
  t.equal(sanitizeFileName('a\u200Eb\u200Fc\u061Cd.txt'), 'abcd.txt', 'LRM, RLM, ALM')
})

t.test('normalises to NFC', async (t) => {
  const decomposed = 'cafe\u0301.txt'
  t.equal(sanitizeFileName(decomposed), 'caf\u00e9.txt')
  t.equal(sanitizeFileName(decomposed).length, 8, 'é is one code point')
})

t.test('is NFC even when a removed invisible character separated a letter from its accent', async (t) => {
  // The zero-width space stops NFC from composing; once it is removed the
  // result must still be composed, or two names that look the same differ.
  const name = sanitizeFileName('cafe\u200B\u0301.txt')
  t.equal(name, 'caf\u00e9.txt')
  t.equal(name, name.normalize('NFC'), 'result is NFC')
})

t.test('keeps Unicode, emoji and quotes', async (t) => {
  t.equal(sanitizeFileName('отчёт ✓.pdf'), 'отчёт ✓.pdf')
  t.equal(sanitizeFileName('报告 2024.docx'), '报告 2024.docx')
  t.equal(sanitizeFileName('party 🎉👍🏽🇺🇦.png'), 'party 🎉👍🏽🇺🇦.png')
  t.equal(sanitizeFileName('say "hi" it\'s.txt'), 'say "hi" it\'s.txt')
  t.equal(sanitizeFileName('.gitignore'), '.gitignore', 'a leading dot is a name, not a path')
})

t.test('names that are no name become "file"', async (t) => {
  for (const raw of ['', undefined, '.', '..', '...', '   ', '\r\n\u0000\t', '\u202E\u200B', 'dir/', '../..', 'a/..', '. . .']) {
    t.equal(sanitizeFileName(raw), 'file', JSON.stringify(raw))
  }
})

t.test('removes trailing dots and spaces, and surrounding spaces', async (t) => {
  t.equal(sanitizeFileName('report.pdf.'), 'report.pdf')
  t.equal(sanitizeFileName('report.pdf . .  '), 'report.pdf')
  t.equal(sanitizeFileName('  report.pdf'), 'report.pdf')
})

t.test('a 1000-character name is capped at 255 bytes and keeps its extension', async (t) => {
  const name = sanitizeFileName('a'.repeat(1000) + '.pdf')
  assertValidName(t, name)
  t.equal(name, 'a'.repeat(251) + '.pdf')
  const plain = sanitizeFileName('b'.repeat(1000))
  t.equal(plain, 'b'.repeat(255), 'without an extension: the first 255 bytes')
})

t.test('a 400-emoji name is capped at 255 bytes without splitting an emoji', async (t) => {
  const name = sanitizeFileName('😀'.repeat(400) + '.png')
  assertValidName(t, name)
  t.ok(name.endsWith('.png'), 'keeps the extension')
  t.equal(name, '😀'.repeat(62) + '.png', 'as many whole emoji as fit')
  const plain = sanitizeFileName('😀'.repeat(400))
  assertValidName(t, plain)
  t.equal(plain, '😀'.repeat(63))
})

t.test('multi-code-point graphemes are never split when capping', async (t) => {
  // Flags are two code points, a skin-toned thumb two, "é" two bytes.
  for (const unit of ['🇺🇦', '👍🏽', 'é', 'ё', '中']) {
    const name = sanitizeFileName(unit.repeat(300) + '.txt')
    assertValidName(t, name)
    t.ok(name.endsWith('.txt'), `${unit}: keeps the extension`)
    t.ok(graphemes(name.slice(0, -4)).every((g) => g === unit), `${unit}: only whole graphemes remain`)
    t.ok(bytes(name) > 255 - bytes(unit), `${unit}: as many as fit`)
  }
})

t.test('an over-long extension is not kept at the expense of the name', async (t) => {
  const name = sanitizeFileName('report.' + 'x'.repeat(300))
  assertValidName(t, name)
  t.ok(name.startsWith('report.'), 'starts with the name')
})

t.test('a name that is one huge grapheme (a letter with 500 combining accents) still gives a usable name', async (t) => {
  // "Zalgo" text: one grapheme longer than the whole byte budget.
  const name = sanitizeFileName('a' + '\u0300'.repeat(500))
  assertValidName(t, name)
})
