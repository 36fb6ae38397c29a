// Range requests, RFC 9110 §14, reduced to what a download needs: one range
// is served as 206; several ranges, other units and anything malformed are
// ignored (a full 200, one S3 request); unsatisfiable ranges are 416.
// Written out because range-parser accepts malformed numbers ("0-1x") and
// answers syntax errors as unsatisfiable.

export type RangeResult =
  | { kind: 'full' }
  | { kind: 'partial', start: number, end: number }
  | { kind: 'unsatisfiable' }

const FULL: RangeResult = { kind: 'full' }
const UNSATISFIABLE: RangeResult = { kind: 'unsatisfiable' }
// bytes=first-[last] or bytes=-suffix, with optional whitespace around the
// one element (§14.1.1; the unit is case-insensitive). A comma means several
// ranges and never matches.
const SINGLE_RANGE = /^bytes=[ \t]*(\d{0,16})-(\d{0,16})[ \t]*$/i

export function parseRange (header: string | undefined, size: number): RangeResult {
  if (header === undefined) return FULL
  const match = SINGLE_RANGE.exec(header)
  if (!match) return FULL
  const [, first = '', last = ''] = match
  if (first === '' && last === '') return FULL

  if (first === '') {
    // Suffix: the last N bytes; all of them when N exceeds the size.
    const length = Number(last)
    if (length === 0 || size === 0) return UNSATISFIABLE
    return { kind: 'partial', start: Math.max(0, size - length), end: size - 1 }
  }
  const start = Number(first)
  const end = last === '' ? size - 1 : Number(last)
  // last < first is an invalid range-spec: ignored, like any other syntax error.
  if (last !== '' && end < start) return FULL
  if (start >= size) return UNSATISFIABLE
  return { kind: 'partial', start, end: Math.min(end, size - 1) }
}
