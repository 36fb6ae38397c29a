// HTTP-date parsing, RFC 9110 §5.6.7: the three formats, GMT only, and
// nothing else counts as a date.
import t from 'tap'
import { parseHttpDate } from '../../src/http/http-date.js'

const when = Date.UTC(1994, 10, 6, 8, 49, 37)
const now = new Date(Date.UTC(2026, 10, 24))

t.test('the three formats name the same instant', async (t) => {
  t.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), when, 'IMF-fixdate')
  t.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', now), when, 'rfc850-date')
  t.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), when, 'asctime-date')
  t.equal(parseHttpDate('  Sun, 06 Nov 1994 08:49:37 GMT '), when, 'surrounding whitespace is trimmed')
})

t.test('rfc850 two-digit years more than 50 years ahead are in the past century', async (t) => {
  t.equal(new Date(parseHttpDate('Thursday, 01-Jan-76 00:00:00 GMT', now)!).getUTCFullYear(), 2076)
  t.equal(new Date(parseHttpDate('Friday, 01-Jan-77 00:00:00 GMT', now)!).getUTCFullYear(), 1977)
})

t.test('anything else is not a date', async (t) => {
  const notDates = [
    '', '1', '3000', 'yesterday', '2024-05-01T12:34:56Z', 'Sun, 06 Nov 1994 08:49:37 UTC', 'Sun, 06 Nov 1994 08:49:37',
    'Sun, 6 Nov 1994 08:49:37 GMT', 'sun, 06 nov 1994 08:49:37 GMT', 'Sun, 31 Feb 1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 24:00:00 GMT', 'Sun, 06 Nov 1994 08:60:00 GMT', 'Sun Nov 6 08:49:37 1994'
  ]
  for (const value of notDates) t.equal(parseHttpDate(value), undefined, JSON.stringify(value))
  t.equal(parseHttpDate(undefined), undefined)
  t.equal(parseHttpDate(['Sun, 06 Nov 1994 08:49:37 GMT']), undefined, 'a repeated header is not one date')
})
