// parseRange, RFC 9110 §14: one satisfiable range is a 206, an unsatisfiable
// one a 416, and everything else (several ranges, other units, syntax errors)
// is ignored, which §14.2 allows ("A server MAY ignore the Range header").
import t, { type Test } from 'tap'
import { parseRange, type RangeResult } from '../../src/http/range.js'

const FULL: RangeResult = { kind: 'full' }
const UNSATISFIABLE: RangeResult = { kind: 'unsatisfiable' }
const partial = (start: number, end: number): RangeResult => ({ kind: 'partial', start, end })

type Case = [header: string | undefined, size: number, expected: RangeResult, description: string]

function check (t: Test, cases: Case[]) {
  for (const [header, size, expected, description] of cases) {
    t.same(parseRange(header, size), expected, `${description}: ${JSON.stringify(header)} of ${size} bytes`)
  }
}

t.test('no Range header: the full representation', async (t) => {
  check(t, [
    [undefined, 100, FULL, 'absent'],
    [undefined, 0, FULL, 'absent, empty representation']
  ])
})

t.test('first-last, §14.1.1: inclusive byte positions', async (t) => {
  check(t, [
    ['bytes=0-0', 100, partial(0, 0), 'the first byte'],
    ['bytes=0-99', 100, partial(0, 99), 'all of it, explicitly'],
    ['bytes=10-19', 100, partial(10, 19), 'ten bytes in the middle'],
    ['bytes=99-99', 100, partial(99, 99), 'the last byte'],
    ['bytes=5-5', 6, partial(5, 5), 'the last byte of a small file'],
    ['bytes=0-0', 1, partial(0, 0), 'the only byte'],
    ['bytes=007-010', 100, partial(7, 10), 'leading zeros are still decimal']
  ])
})

t.test('first-last, §14.1.2: a last-pos beyond the end is clamped to the last byte', async (t) => {
  check(t, [
    ['bytes=0-100', 100, partial(0, 99), 'one past the end'],
    ['bytes=50-1000000', 100, partial(50, 99), 'far past the end'],
    ['bytes=99-200', 100, partial(99, 99), 'from the last byte'],
    ['bytes=0-9999999999999999', 100, partial(0, 99), 'sixteen digits'],
    ['bytes=0-0', 1, partial(0, 0), 'one byte, exactly']
  ])
})

t.test('first-, §14.1.1: from a position to the end', async (t) => {
  check(t, [
    ['bytes=0-', 100, partial(0, 99), 'everything'],
    ['bytes=10-', 100, partial(10, 99), 'from the middle'],
    ['bytes=99-', 100, partial(99, 99), 'the last byte'],
    ['bytes=0-', 1, partial(0, 0), 'a one-byte file']
  ])
})

t.test('-suffix, §14.1.1-2: the last N bytes; all of them when N exceeds the size', async (t) => {
  check(t, [
    ['bytes=-1', 100, partial(99, 99), 'the last byte'],
    ['bytes=-10', 100, partial(90, 99), 'the last ten bytes'],
    ['bytes=-100', 100, partial(0, 99), 'exactly the size'],
    ['bytes=-101', 100, partial(0, 99), 'one more than the size'],
    ['bytes=-5000', 100, partial(0, 99), 'far more than the size'],
    ['bytes=-9999999999999999', 100, partial(0, 99), 'sixteen digits'],
    ['bytes=-1', 1, partial(0, 0), 'a one-byte file']
  ])
})

t.test('unsatisfiable, §14.1.1 and §15.5.17: 416', async (t) => {
  check(t, [
    ['bytes=100-', 100, UNSATISFIABLE, 'first-pos equal to the size'],
    ['bytes=100-200', 100, UNSATISFIABLE, 'first-pos equal to the size, with last-pos'],
    ['bytes=101-', 100, UNSATISFIABLE, 'first-pos past the end'],
    ['bytes=5000-6000', 100, UNSATISFIABLE, 'far past the end'],
    ['bytes=9999999999999999-', 100, UNSATISFIABLE, 'sixteen digits'],
    ['bytes=-0', 100, UNSATISFIABLE, 'a zero-length suffix'],
    ['bytes=-000', 100, UNSATISFIABLE, 'a zero-length suffix with leading zeros'],
    ['bytes=1-', 1, UNSATISFIABLE, 'past the only byte']
  ])
})

t.test('a 0-byte representation satisfies no range, §14.1.1', async (t) => {
  check(t, [
    ['bytes=0-', 0, UNSATISFIABLE, 'first-'],
    ['bytes=0-0', 0, UNSATISFIABLE, 'first-last'],
    ['bytes=0-100', 0, UNSATISFIABLE, 'first-last past the end'],
    ['bytes=-1', 0, UNSATISFIABLE, 'a suffix'],
    ['bytes=-100', 0, UNSATISFIABLE, 'a long suffix'],
    ['bytes=-0', 0, UNSATISFIABLE, 'a zero-length suffix']
  ])
})

t.test('several ranges are ignored: the full representation (§14.2 MAY ignore)', async (t) => {
  check(t, [
    ['bytes=0-1,2-3', 100, FULL, 'two ranges'],
    ['bytes=0-1, 2-3', 100, FULL, 'two ranges with a space'],
    ['bytes=0-1,-1', 100, FULL, 'a range and a suffix'],
    ['bytes=0-0,0-0', 100, FULL, 'the same range twice'],
    ['bytes=0-1,5000-6000', 100, FULL, 'one satisfiable, one not'],
    ['bytes=5000-6000,7000-8000', 100, FULL, 'two unsatisfiable ranges'],
    ['bytes=0-,0-,0-,0-,0-,0-,0-,0-,0-,0-', 100, FULL, 'many overlapping ranges']
  ])
})

t.test('other range units are ignored, §14.1', async (t) => {
  check(t, [
    ['items=0-1', 100, FULL, 'items'],
    ['byte=0-1', 100, FULL, 'byte'],
    ['bytesx=0-1', 100, FULL, 'bytes as a prefix'],
    ['none=0-1', 100, FULL, 'none'],
    ['lines=0-', 100, FULL, 'lines']
  ])
})

t.test('the range unit is case-insensitive, §14.1', async (t) => {
  check(t, [
    ['BYTES=0-9', 100, partial(0, 9), 'upper case'],
    ['Bytes=10-', 100, partial(10, 99), 'capitalised'],
    ['bYtEs=-5', 100, partial(95, 99), 'mixed'],
    ['BYTES=100-', 100, UNSATISFIABLE, 'upper case, unsatisfiable']
  ])
})

t.test('optional whitespace around the single range-spec, §5.6.1', async (t) => {
  check(t, [
    ['bytes= 0-9', 100, partial(0, 9), 'space before'],
    ['bytes=0-9 ', 100, partial(0, 9), 'space after'],
    ['bytes=  0-9  ', 100, partial(0, 9), 'spaces on both sides'],
    ['bytes=\t-5\t', 100, partial(95, 99), 'tabs around a suffix'],
    ['bytes= 10- ', 100, partial(10, 99), 'spaces around first-'],
    ['bytes= 100-', 100, UNSATISFIABLE, 'space before an unsatisfiable range']
  ])
})

t.test('malformed syntax is ignored: the full representation, never 416', async (t) => {
  check(t, [
    ['bytes=5-4', 100, FULL, 'last-pos < first-pos (invalid range-spec, §14.1.1)'],
    ['bytes=99-0', 100, FULL, 'last-pos < first-pos, both inside'],
    ['bytes=500-400', 100, FULL, 'last-pos < first-pos, both past the end'],
    ['bytes=1-0', 0, FULL, 'last-pos < first-pos on an empty representation'],
    ['bytes=-', 100, FULL, 'no positions'],
    ['bytes=', 100, FULL, 'no range-set'],
    ['bytes', 100, FULL, 'no "="'],
    ['0-9', 100, FULL, 'no unit'],
    ['=0-9', 100, FULL, 'empty unit'],
    ['', 100, FULL, 'empty header'],
    ['bytes=0', 100, FULL, 'no "-"'],
    ['bytes=a-b', 100, FULL, 'letters'],
    ['bytes=0-1x', 100, FULL, 'trailing garbage after last-pos'],
    ['bytes=x0-1', 100, FULL, 'leading garbage before first-pos'],
    ['bytes=0x10-0x20', 100, FULL, 'hexadecimal'],
    ['bytes=1.5-2', 100, FULL, 'a decimal point'],
    ['bytes=1e2-', 100, FULL, 'an exponent'],
    ['bytes=+1-2', 100, FULL, 'a plus sign'],
    ['bytes=--1', 100, FULL, 'a negative suffix'],
    ['bytes=-1-2', 100, FULL, 'two dashes'],
    ['bytes=0--1', 100, FULL, 'a negative last-pos'],
    ['bytes=0 - 9', 100, FULL, 'whitespace inside the range-spec'],
    ['bytes =0-9', 100, FULL, 'whitespace before "="'],
    ['bytes==0-9', 100, FULL, 'two "="'],
    ['bytes=0-9;', 100, FULL, 'a trailing ";"'],
    ['bytes=\u0661-\u0669', 100, FULL, 'Arabic-Indic digits are not DIGIT'],
    ['bytes=\uff10-\uff19', 100, FULL, 'fullwidth digits are not DIGIT']
  ])
})

t.test('positions of more than sixteen digits are ignored, not misread (§14.2 MAY ignore)', async (t) => {
  // Beyond 2^53 a Number cannot hold the position exactly; the parser caps
  // the length instead of answering for a range it cannot represent.
  check(t, [
    ['bytes=0-99999999999999999', 100, FULL, 'seventeen-digit last-pos'],
    ['bytes=99999999999999999-', 100, FULL, 'seventeen-digit first-pos'],
    ['bytes=-99999999999999999', 100, FULL, 'seventeen-digit suffix']
  ])
})

t.test('every single range on small sizes agrees with §14.1.2 and stays inside the representation', async (t) => {
  // The RFC's rules, written independently of the implementation's structure.
  function expected (first: number | undefined, last: number | undefined, size: number): RangeResult {
    if (first === undefined) {
      if (last === undefined) return FULL
      return last === 0 || size === 0 ? UNSATISFIABLE : partial(Math.max(0, size - last), size - 1)
    }
    if (last !== undefined && last < first) return FULL
    if (first >= size) return UNSATISFIABLE
    return partial(first, last === undefined ? size - 1 : Math.min(last, size - 1))
  }
  const mismatches: string[] = []
  let partials = 0
  for (let size = 0; size <= 12; size++) {
    for (const first of [undefined, ...Array.from({ length: 15 }, (_, i) => i)]) {
      for (const last of [undefined, ...Array.from({ length: 15 }, (_, i) => i)]) {
        const header = `bytes=${first ?? ''}-${last ?? ''}`
        const actual = parseRange(header, size)
        const want = expected(first, last, size)
        if (JSON.stringify(actual) !== JSON.stringify(want)) mismatches.push(`${header} of ${size}: ${JSON.stringify(actual)}, expected ${JSON.stringify(want)}`)
        if (actual.kind === 'partial') {
          partials++
          if (!(actual.start >= 0 && actual.start <= actual.end && actual.end < size)) mismatches.push(`${header} of ${size}: out of bounds ${JSON.stringify(actual)}`)
        }
      }
    }
  }
  t.same(mismatches, [], 'no mismatches')
  t.ok(partials > 500, `the loop produced partial ranges (${partials})`)
})

t.test('large representations: positions beyond 2^32 are exact', async (t) => {
  const size = 5 * 1024 ** 3 // 5 GiB
  check(t, [
    ['bytes=4294967296-', size, partial(4294967296, size - 1), 'from 4 GiB'],
    ['bytes=4294967296-4294967297', size, partial(4294967296, 4294967297), 'two bytes at 4 GiB'],
    ['bytes=-1', size, partial(size - 1, size - 1), 'the last byte'],
    [`bytes=${size}-`, size, UNSATISFIABLE, 'first-pos equal to the size']
  ])
})
