// contentDisposition, RFC 6266: whatever the stored file name, the header has
// an ASCII `filename` fallback and an RFC 8187 `filename*` that decodes back to
// the exact name, and Node accepts it as a header value. The output is checked
// with the content-disposition package's parser, not with our own encoder.
import { validateHeaderValue } from 'node:http'
import contentDisposition from 'content-disposition'
import t, { type Test } from 'tap'
import { contentDisposition as build } from '../../src/http/content-disposition.js'

// RFC 6266 §4.1 with exactly the two parameters we send. The quoted-string
// holds no `"` or `\` (so no quoted-pair); the ext-value (RFC 8187 §3.2.1) is
// attr-chars and upper-case %XX escapes only.
const SHAPE = /^(inline|attachment); filename="([^"\\]*)"; filename\*=UTF-8''((?:[A-Za-z0-9!#$&+\-.^_`|~]|%[0-9A-F]{2})*)$/
const FALLBACK = /^[\x20-\x7e]+$/

/** What a well-behaved UTF-8 encoder makes of the name: itself, or U+FFFD for each lone surrogate. */
const wellFormed = (name: string) => Buffer.from(name, 'utf8').toString('utf8')

/** Every problem with the header built for `name`; an empty list when it is right. */
function problems (type: 'inline' | 'attachment', name: string, builder = build): string[] {
  const found: string[] = []
  let value: string
  try {
    value = builder(type, name)
  } catch (err) {
    return [`threw ${String(err)}`]
  }
  try {
    validateHeaderValue('content-disposition', value)
  } catch (err) {
    found.push(`Node rejects the value: ${String(err)}`)
  }
  const shape = SHAPE.exec(value)
  if (!shape) return [...found, `unexpected shape: ${show(value)}`]
  const [, parsedType, fallback = ''] = shape
  if (parsedType !== type) found.push(`type ${parsedType}`)
  if (!FALLBACK.test(fallback)) found.push(`fallback not printable ASCII: ${show(fallback)}`)
  if (/["\\%]/.test(fallback)) found.push(`fallback contains " \\ or %: ${show(fallback)}`)

  let parsed: contentDisposition.ContentDisposition
  try {
    parsed = contentDisposition.parse(value)
  } catch (err) {
    return [...found, `content-disposition.parse threw ${String(err)}`]
  }
  if (parsed.type !== type) found.push(`parsed type ${parsed.type}`)
  const expected = name === '' ? 'file' : wellFormed(name)
  if (parsed.parameters.filename !== expected) {
    found.push(`filename* decodes to ${show(parsed.parameters.filename ?? '(none)')}, expected ${show(expected)}`)
  }
  // The fallback alone, as a client without RFC 8187 support reads it.
  const legacy = contentDisposition.parse(`${type}; filename="${fallback}"`).parameters.filename
  if (legacy !== fallback) found.push(`fallback parses to ${show(legacy ?? '(none)')}`)
  return found
}

/** A name for a test message: ASCII only (U+2028 and friends would break the TAP stream), at most 80 characters. */
function show (name: string): string {
  const shown = JSON.stringify(name.length > 80 ? name.slice(0, 80) : name)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  return name.length > 80 ? `${shown}... (${name.length} chars)` : shown
}

function assertGood (t: Test, name: string, description = show(name)) {
  for (const type of ['inline', 'attachment'] as const) {
    t.same(problems(type, name), [], `${type}: ${description}`)
  }
}

t.test('exact output for typical names', async (t) => {
  const cases: Array<[type: 'inline' | 'attachment', name: string, header: string]> = [
    ['attachment', 'report.pdf', 'attachment; filename="report.pdf"; filename*=UTF-8\'\'report.pdf'],
    ['inline', 'photo.png', 'inline; filename="photo.png"; filename*=UTF-8\'\'photo.png'],
    ['attachment', 'my report (final).pdf', 'attachment; filename="my report (final).pdf"; filename*=UTF-8\'\'my%20report%20%28final%29.pdf'],
    ['attachment', 'Résumé №1.pdf', 'attachment; filename="Resume No1.pdf"; filename*=UTF-8\'\'R%C3%A9sum%C3%A9%20%E2%84%961.pdf'],
    ['attachment', '100% "real" \\ file.txt', 'attachment; filename="100_ _real_ _ file.txt"; filename*=UTF-8\'\'100%25%20%22real%22%20%5C%20file.txt'],
    ['attachment', "it's a*b.txt", 'attachment; filename="it\'s a*b.txt"; filename*=UTF-8\'\'it%27s%20a%2Ab.txt'],
    ['attachment', '日本語.txt', 'attachment; filename="___.txt"; filename*=UTF-8\'\'%E6%97%A5%E6%9C%AC%E8%AA%9E.txt'],
    ['inline', '🙂', 'inline; filename="file"; filename*=UTF-8\'\'%F0%9F%99%82'],
    ['attachment', '', 'attachment; filename="file"; filename*=UTF-8\'\'file'],
    ['attachment', 'a\r\nSet-Cookie: x=1', 'attachment; filename="a__Set-Cookie: x=1"; filename*=UTF-8\'\'a%0D%0ASet-Cookie%3A%20x%3D1']
  ]
  for (const [type, name, header] of cases) t.equal(build(type, name), header, `${type} ${show(name)}`)
})

t.test('RFC 8187 §3.2.1: attr-chars stay as they are, every other byte is %XX in upper case', async (t) => {
  const extValue = (name: string) => build('attachment', name).split("filename*=UTF-8''")[1]
  const attrChars = 'ABCXYZabcxyz0189!#$&+-.^_`|~'
  t.equal(build('attachment', attrChars), `attachment; filename="${attrChars}"; filename*=UTF-8''${attrChars}`)
  t.equal(extValue(' "%\'()*,/:;<=>?@[\\]{}'), '%20%22%25%27%28%29%2A%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%7B%7D', 'ASCII delimiters')
  t.equal(extValue('\u0000\t\r\n\u007f'), '%00%09%0D%0A%7F', 'controls')
  t.equal(extValue('\u00e9'), '%C3%A9', 'é is its two UTF-8 bytes')
  t.equal(extValue('\u{1F600}'), '%F0%9F%98%80', 'an astral character is its four UTF-8 bytes')
})

t.test('the checks used below catch a broken header', async (t) => {
  // A naive builder: the name pasted into the quoted-string, encodeURIComponent for filename*.
  const naive = (type: 'inline' | 'attachment', name: string) => `${type}; filename="${name}"; filename*=UTF-8''${encodeURIComponent(name)}`
  t.same(problems('attachment', 'plain.txt', naive), [], 'a harmless name passes')
  t.not(problems('attachment', 'a"b.txt', naive).length, 0, 'a quote in the fallback')
  t.not(problems('attachment', 'a\r\nb', naive).length, 0, 'CR LF in the fallback')
  t.not(problems('attachment', 'é.txt', naive).length, 0, 'non-ASCII in the fallback')
  t.not(problems('attachment', 'a%b', naive).length, 0, 'a percent sign in the fallback')
  t.not(problems('attachment', 'x', () => 'attachment; filename="x"; filename*=UTF-8\'\'y').length, 0, 'a filename* that decodes to another name')
  t.not(problems('attachment', '\ud800', naive).length, 0, 'a builder that throws (encodeURIComponent on a lone surrogate)')
})

t.test('percent signs survive the round trip literally (no double decoding)', async (t) => {
  for (const name of ['%41.txt', '%', '%%', '%2F..%2Fetc', '100%.pdf', '%C3%A9.txt', '%ZZ']) {
    t.equal(contentDisposition.parse(build('attachment', name)).parameters.filename, name, show(name))
  }
})

t.test('the ASCII fallback: accents dropped, everything else outside printable ASCII replaced', async (t) => {
  const fallback = (name: string) => SHAPE.exec(build('attachment', name))?.[2]
  const cases: Array<[name: string, expected: string]> = [
    ['Crème brûlée.jpg', 'Creme brulee.jpg'],
    ['Ångström.txt', 'Angstrom.txt'],
    ['ﬁle.txt', 'file.txt'], // the fi ligature decomposes (NFKD)
    ['ＡＢＣ.txt', 'ABC.txt'], // fullwidth letters decompose (NFKD)
    ['a＂b.txt', 'a_b.txt'], // a fullwidth quotation mark decomposes to " and is then replaced
    ['a％b.txt', 'a_b.txt'], // likewise a fullwidth percent sign
    ['a＼b.txt', 'a_b.txt'], // and a fullwidth reverse solidus
    ['Привет.doc', '______.doc'],
    ['a\tb.txt', 'a_b.txt'],
    ['a\u007fb.txt', 'a_b.txt'],
    ['a\u0000b.txt', 'a_b.txt'],
    ['a\u202eb.txt', 'a_b.txt'],
    ['🙂🙂🙂', 'file'],
    ['🙂.png', '__.png'],
    ['"""', 'file'],
    ['%%%', 'file'],
    ['...', 'file'],
    ['日本.tar', '__.tar']
  ]
  for (const [name, expected] of cases) t.equal(fallback(name), expected, show(name))
})

t.test('hostile and unusual names: the decoded name is the input, the fallback is safe, Node accepts the header', async (t) => {
  const names = [
    'report.pdf',
    'a\rb', 'a\nb', 'a\r\nb', '\r\n\r\n', 'x\r\nContent-Type: text/html\r\n\r\n<script>alert(1)</script>',
    'a\u0000b', '\u0000', 'a\u0007\u001b[31mred',
    '"', '"quoted"', 'a"; filename="evil.exe', '\\', 'a\\"b', '\\\\server\\share\\x.txt',
    '%', '%00', '%0D%0A', '%E2%82%AC',
    "filename*=UTF-8''evil.exe", "a'b'c", 'a;b=c,d', ' leading and trailing ', '\t',
    'a\u007fb', 'a\u0085b\u009bc', 'a\u2028b\u2029c', '\ufeffbom.txt',
    '🙂', '👩‍👩‍👧‍👦 family.png', '🏳️‍🌈', 'e\u0301', 'Z\u0351\u0352\u0353algo',
    'שלום.txt', 'مرحبا بالعالم.pdf', 'invoice\u202efdp.exe', 'a\u200bb\u200dc', 'a\u2066b\u2069',
    '\ufdfa', '\u2025', '¼½¾', '㍻', 'ｶﾀｶﾅ', '＂＼％',
    '\u{10FFFF}', '\uFFFE\uFFFF', '\u{E0041}tag', '\u{1D400}\u{1D41A}',
    'x'.repeat(10_000),
    '🙂'.repeat(10_000),
    'é'.repeat(10_000),
    '"\\%\r\n\u0000'.repeat(2_000),
    '\ufdfa'.repeat(10_000)
  ]
  for (const name of names) assertGood(t, name)
})

t.test('lone surrogates: never throws, Node accepts the header, filename* decodes to U+FFFD in their place', async (t) => {
  const names = ['\ud800', '\udfff', 'a\ud83d', '\ude42b', '\ude42\ud83d', 'x\ud800\ud800y', '\ud83d🙂\ude42', '\ud800'.repeat(10_000)]
  for (const name of names) {
    assertGood(t, name)
    t.equal(contentDisposition.parse(build('attachment', name)).parameters.filename, wellFormed(name), `U+FFFD: ${show(name)}`)
  }
  t.equal(wellFormed('a\ud800b'), 'a\ufffdb', 'the expectation itself is U+FFFD')
})

t.test('every code point of the BMP and the SMP, and a sample of the rest, alone and inside a name', async (t) => {
  // Planes 0-1 hold the controls, surrogates, scripts, compatibility forms and
  // emoji; planes 2-16 (CJK extensions, tags, private use) are sampled.
  const codePoints: number[] = []
  for (let cp = 0; cp <= 0x1ffff; cp++) codePoints.push(cp)
  for (let cp = 0x20000; cp <= 0x10ffff; cp += 61) codePoints.push(cp)
  codePoints.push(0xe0041, 0xf0000, 0x10fffd, 0x10ffff)
  const failures: string[] = []
  let checked = 0
  for (const cp of codePoints) {
    const char = String.fromCodePoint(cp)
    for (const name of [char, `a${char}.txt`]) {
      checked++
      // One type is enough here: the type is a constant prefix.
      const found = problems('attachment', name)
      if (found.length > 0 && failures.length < 20) failures.push(`U+${cp.toString(16).toUpperCase().padStart(4, '0')} in ${show(name)}: ${found.join('; ')}`)
    }
  }
  t.same(failures, [], 'no failures')
  t.ok(checked > 2 * 0x20000, `${checked} names checked`)
})

t.test('property: thousands of random strings (seeded, reproducible) never throw and always validate', async (t) => {
  // mulberry32: small, seeded, good enough to spread the inputs.
  let state = 0x5eed1234
  const random = () => {
    state = (state + 0x6d2b79f5) | 0
    let x = Math.imul(state ^ (state >>> 15), 1 | state)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(random() * n)
  const between = (low: number, high: number) => low + int(high - low + 1)
  // Character classes that have broken header builders before.
  const classes: Array<() => string> = [
    () => String.fromCharCode(between(0x20, 0x7e)), // printable ASCII
    () => '"\\%\';*=,/ \t'[int(11)]!, // delimiters
    () => String.fromCharCode(between(0x00, 0x1f)), // C0 controls incl. CR, LF, NUL
    () => String.fromCharCode(between(0x7f, 0x9f)), // DEL and C1
    () => String.fromCharCode(between(0xa0, 0xff)), // Latin-1
    () => String.fromCharCode(between(0x0300, 0x036f)), // combining marks
    () => String.fromCharCode(between(0x0590, 0x06ff)), // Hebrew, Arabic
    () => '\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff'[int(15)]!, // invisible and bidi
    () => String.fromCharCode(between(0x4e00, 0x9fff)), // CJK
    () => String.fromCharCode(between(0xff01, 0xff5e)), // fullwidth ASCII (NFKD to ASCII, incl. " \ %)
    () => '\ufdfa\u2025\u00bd\u337b\ufb01\u2116'[int(6)]!, // NFKD expands to several characters
    () => String.fromCodePoint(between(0x1f300, 0x1faff)), // emoji
    () => String.fromCodePoint(between(0x10000, 0x10ffff)), // any astral
    () => String.fromCharCode(between(0xd800, 0xdfff)), // lone surrogates
    () => String.fromCharCode(int(0x10000)) // any code unit
  ]
  const randomString = () => {
    const length = random() < 0.02 ? between(500, 3000) : int(40)
    let out = ''
    for (let i = 0; i < length; i++) out += classes[int(classes.length)]!()
    return out
  }

  const failures: string[] = []
  const runs = 5000
  let wellFormedNames = 0
  for (let i = 0; i < runs; i++) {
    const name = randomString()
    if (wellFormed(name) === name) wellFormedNames++
    const found = problems(i % 2 === 0 ? 'inline' : 'attachment', name)
    if (found.length > 0 && failures.length < 20) failures.push(`#${i} ${show(name)}: ${found.join('; ')}`)
  }
  t.same(failures, [], `no failures in ${runs} random names`)
  // The generator covers both kinds of input the contract distinguishes.
  t.ok(wellFormedNames > runs / 4, `well-formed names were generated (${wellFormedNames})`)
  t.ok(wellFormedNames < runs, `names with lone surrogates were generated (${runs - wellFormedNames})`)
})
