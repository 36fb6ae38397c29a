// Conditional requests, RFC 9110 §13: evaluatePreconditions decides 304/412
// from the stored validators, ifRangeMatches decides whether a Range applies.
// The tables give the request headers and the answer the RFC requires.
import type { IncomingHttpHeaders } from 'node:http'
import t, { type Test } from 'tap'
import { evaluatePreconditions, httpDate, ifRangeMatches, type Precondition, type Validators } from '../../src/http/conditional.js'

const ETAG = '"3f2a9c"'
// Milliseconds on purpose: Last-Modified is sent with whole seconds.
const validators: Validators = { etag: ETAG, lastModified: new Date('2024-05-01T12:34:56.789Z') }
const LAST_MODIFIED = 'Wed, 01 May 2024 12:34:56 GMT'
const SECOND_EARLIER = 'Wed, 01 May 2024 12:34:55 GMT'
const SECOND_LATER = 'Wed, 01 May 2024 12:34:57 GMT'
const LONG_AGO = 'Sun, 06 Nov 1994 08:49:37 GMT'

type Case = [description: string, headers: IncomingHttpHeaders, expected: Precondition]

function check (t: Test, cases: Case[]) {
  for (const [description, headers, expected] of cases) {
    t.equal(evaluatePreconditions(headers, validators), expected, `${description}: ${JSON.stringify(headers)}`)
  }
}

t.test('httpDate: an IMF-fixdate with whole seconds, truncated not rounded (§5.6.7, §8.8.2)', async (t) => {
  t.equal(httpDate(validators.lastModified), LAST_MODIFIED)
  t.equal(httpDate(new Date('2024-05-01T12:34:56.999Z')), LAST_MODIFIED, '.999 stays in the same second')
  t.equal(httpDate(new Date('2024-05-01T12:34:56.000Z')), LAST_MODIFIED)
  t.equal(httpDate(new Date('1994-11-06T08:49:37Z')), LONG_AGO)
  t.match(httpDate(new Date()), /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/)
})

t.test('no precondition header: proceed', async (t) => {
  check(t, [
    ['nothing', {}, 'proceed'],
    ['unrelated headers', { accept: '*/*', range: 'bytes=0-1', 'if-range': ETAG }, 'proceed']
  ])
})

t.test('If-None-Match, §13.1.2: weak comparison, lists and "*"; a match is 304 for GET/HEAD', async (t) => {
  check(t, [
    ['the current tag', { 'if-none-match': ETAG }, 'not-modified'],
    ['the weak form of the current tag (weak comparison)', { 'if-none-match': `W/${ETAG}` }, 'not-modified'],
    ['"*" (any current representation)', { 'if-none-match': '*' }, 'not-modified'],
    ['a list containing it, first', { 'if-none-match': `${ETAG}, "other"` }, 'not-modified'],
    ['a list containing it, last', { 'if-none-match': `"a", "b", ${ETAG}` }, 'not-modified'],
    ['a list without spaces', { 'if-none-match': `"a",${ETAG},"b"` }, 'not-modified'],
    ['a list with extra spaces', { 'if-none-match': `"a" ,  ${ETAG} ,"b"` }, 'not-modified'],
    ['a list with the weak form', { 'if-none-match': `W/"a", W/${ETAG}` }, 'not-modified'],
    ['another tag', { 'if-none-match': '"other"' }, 'proceed'],
    ['a list without it', { 'if-none-match': '"a", W/"b", "c"' }, 'proceed'],
    ['opaque-tag differs in case (compared octet by octet)', { 'if-none-match': ETAG.toUpperCase() }, 'proceed'],
    ['a prefix of the tag', { 'if-none-match': '"3f2a9"' }, 'proceed'],
    ['the tag with something appended', { 'if-none-match': '"3f2a9c0"' }, 'proceed'],
    ['the tag unquoted (not an entity-tag)', { 'if-none-match': '3f2a9c' }, 'proceed']
  ])
})

t.test('If-None-Match, §5.6.1: OWS around list elements may be HTAB as well as SP', async (t) => {
  check(t, [
    ['TAB after the comma', { 'if-none-match': `"a",\t${ETAG}` }, 'not-modified'],
    ['TAB before the comma', { 'if-none-match': `${ETAG}\t,"a"` }, 'not-modified']
  ])
})

t.test('If-Modified-Since, §13.1.3: 304 unless modified after the date', async (t) => {
  check(t, [
    ['exactly Last-Modified', { 'if-modified-since': LAST_MODIFIED }, 'not-modified'],
    ['one second later', { 'if-modified-since': SECOND_LATER }, 'not-modified'],
    ['one second earlier', { 'if-modified-since': SECOND_EARLIER }, 'proceed'],
    ['long ago', { 'if-modified-since': LONG_AGO }, 'proceed'],
    ['rfc850-date (obs-date) equal to Last-Modified', { 'if-modified-since': 'Wednesday, 01-May-24 12:34:56 GMT' }, 'not-modified'],
    ['rfc850-date (obs-date) one second earlier', { 'if-modified-since': 'Wednesday, 01-May-24 12:34:55 GMT' }, 'proceed'],
    ['asctime-date (obs-date) equal to Last-Modified', { 'if-modified-since': 'Wed May  1 12:34:56 2024' }, 'not-modified'],
    ['asctime-date (obs-date) one second earlier', { 'if-modified-since': 'Wed May  1 12:34:55 2024' }, 'proceed']
  ])
})

t.test('If-Modified-Since compares whole seconds: the sub-second part of the stored time never makes it "modified"', async (t) => {
  // The client echoes the Last-Modified it got; the stored time is 56.789 s.
  t.equal(evaluatePreconditions({ 'if-modified-since': httpDate(validators.lastModified) }, validators), 'not-modified')
  const almostNext = { etag: ETAG, lastModified: new Date('2024-05-01T12:34:56.999Z') }
  t.equal(evaluatePreconditions({ 'if-modified-since': LAST_MODIFIED }, almostNext), 'not-modified', '.999')
})

t.test('If-Modified-Since, §13.1.3: an invalid date is ignored', async (t) => {
  check(t, [
    ['not a date', { 'if-modified-since': 'not a date' }, 'proceed'],
    ['empty', { 'if-modified-since': '' }, 'proceed'],
    ['a relative word', { 'if-modified-since': 'tomorrow' }, 'proceed'],
    ['hour out of range', { 'if-modified-since': 'Wed, 01 May 2024 25:34:56 GMT' }, 'proceed']
  ])
})

t.test('If-Modified-Since, §13.1.3: a value that is not an HTTP-date is ignored, even when Date.parse accepts it', async (t) => {
  // Each of these parses (V8's Date.parse is lenient) to a time after
  // Last-Modified, so treating it as a date wrongly answers 304.
  check(t, [
    ['a bare year', { 'if-modified-since': '3000' }, 'proceed'],
    ['a word and a year', { 'if-modified-since': 'soon 2099' }, 'proceed'],
    ['ISO 8601', { 'if-modified-since': '2030-01-01T00:00:00Z' }, 'proceed']
  ])
})

t.test('If-None-Match takes precedence over If-Modified-Since (§13.1.3, §13.2.2 step 3-4)', async (t) => {
  check(t, [
    ['INM does not match, IMS would: 200', { 'if-none-match': '"other"', 'if-modified-since': SECOND_LATER }, 'proceed'],
    ['INM list does not match, IMS would: 200', { 'if-none-match': '"a", "b"', 'if-modified-since': LAST_MODIFIED }, 'proceed'],
    ['INM matches, IMS would not: 304', { 'if-none-match': ETAG, 'if-modified-since': LONG_AGO }, 'not-modified'],
    ['INM "*", IMS would not: 304', { 'if-none-match': '*', 'if-modified-since': LONG_AGO }, 'not-modified'],
    ['INM matches, IMS invalid: 304', { 'if-none-match': ETAG, 'if-modified-since': 'garbage' }, 'not-modified']
  ])
})

t.test('If-Match, §13.1.1: strong comparison; failure is 412', async (t) => {
  check(t, [
    ['the current tag', { 'if-match': ETAG }, 'proceed'],
    ['"*"', { 'if-match': '*' }, 'proceed'],
    ['a list containing it', { 'if-match': `"a", ${ETAG}, "b"` }, 'proceed'],
    ['a list without spaces', { 'if-match': `"a",${ETAG}` }, 'proceed'],
    ['the weak form of the current tag (weak tags never match strongly)', { 'if-match': `W/${ETAG}` }, 'failed'],
    ['a list with only the weak form', { 'if-match': `"a", W/${ETAG}` }, 'failed'],
    ['another tag', { 'if-match': '"other"' }, 'failed'],
    ['opaque-tag differs in case', { 'if-match': ETAG.toUpperCase() }, 'failed'],
    ['a prefix of the tag', { 'if-match': '"3f2a9"' }, 'failed'],
    ['the tag unquoted (not an entity-tag)', { 'if-match': '3f2a9c' }, 'failed']
  ])
})

t.test('If-Unmodified-Since, §13.1.4: 412 when modified after the date', async (t) => {
  check(t, [
    ['exactly Last-Modified', { 'if-unmodified-since': LAST_MODIFIED }, 'proceed'],
    ['echoing httpDate of the stored time (sub-second part ignored)', { 'if-unmodified-since': httpDate(validators.lastModified) }, 'proceed'],
    ['one second later', { 'if-unmodified-since': SECOND_LATER }, 'proceed'],
    ['one second earlier', { 'if-unmodified-since': SECOND_EARLIER }, 'failed'],
    ['long ago', { 'if-unmodified-since': LONG_AGO }, 'failed'],
    ['rfc850-date one second earlier', { 'if-unmodified-since': 'Wednesday, 01-May-24 12:34:55 GMT' }, 'failed']
  ])
})

t.test('If-Unmodified-Since, §13.1.4: an invalid date is ignored', async (t) => {
  check(t, [
    ['not a date', { 'if-unmodified-since': 'not a date' }, 'proceed'],
    ['empty', { 'if-unmodified-since': '' }, 'proceed'],
    ['hour out of range', { 'if-unmodified-since': 'Wed, 01 May 2024 25:34:56 GMT' }, 'proceed']
  ])
})

t.test('If-Unmodified-Since, §13.1.4: a value that is not an HTTP-date is ignored, even when Date.parse accepts it', async (t) => {
  // Each of these parses (V8's Date.parse is lenient) to a time before
  // Last-Modified, so treating it as a date wrongly answers 412.
  check(t, [
    ['a single digit', { 'if-unmodified-since': '1' }, 'proceed'],
    ['a bare year', { 'if-unmodified-since': '2024' }, 'proceed'],
    ['a word and a number', { 'if-unmodified-since': 'foo 1' }, 'proceed'],
    ['ISO 8601', { 'if-unmodified-since': '2000-01-01T00:00:00Z' }, 'proceed']
  ])
})

t.test('evaluation order, §13.2.2', async (t) => {
  check(t, [
    // Step 1 before step 2: If-Unmodified-Since is ignored when If-Match is present.
    ['If-Match matches, IUS would fail', { 'if-match': ETAG, 'if-unmodified-since': LONG_AGO }, 'proceed'],
    ['If-Match "*", IUS would fail', { 'if-match': '*', 'if-unmodified-since': LONG_AGO }, 'proceed'],
    ['If-Match fails, IUS would pass', { 'if-match': '"other"', 'if-unmodified-since': SECOND_LATER }, 'failed'],
    // Steps 1-2 before steps 3-4: 412 wins over 304.
    ['If-Match fails, INM matches', { 'if-match': '"other"', 'if-none-match': ETAG }, 'failed'],
    ['If-Match fails, IMS matches', { 'if-match': '"other"', 'if-modified-since': LAST_MODIFIED }, 'failed'],
    ['IUS fails, INM matches', { 'if-unmodified-since': SECOND_EARLIER, 'if-none-match': ETAG }, 'failed'],
    ['IUS fails, IMS matches', { 'if-unmodified-since': SECOND_EARLIER, 'if-modified-since': LAST_MODIFIED }, 'failed'],
    // A passing step 1/2 goes on to step 3/4.
    ['If-Match passes, INM matches', { 'if-match': ETAG, 'if-none-match': ETAG }, 'not-modified'],
    ['If-Match passes, INM does not match', { 'if-match': ETAG, 'if-none-match': '"other"' }, 'proceed'],
    ['If-Match passes, IMS matches', { 'if-match': ETAG, 'if-modified-since': LAST_MODIFIED }, 'not-modified'],
    ['IUS passes, INM matches', { 'if-unmodified-since': LAST_MODIFIED, 'if-none-match': ETAG }, 'not-modified'],
    ['IUS passes, IMS matches', { 'if-unmodified-since': LAST_MODIFIED, 'if-modified-since': LAST_MODIFIED }, 'not-modified'],
    ['IUS passes, IMS does not match', { 'if-unmodified-since': LAST_MODIFIED, 'if-modified-since': SECOND_EARLIER }, 'proceed'],
    ['all four, all pass, INM matches', { 'if-match': ETAG, 'if-unmodified-since': LAST_MODIFIED, 'if-none-match': ETAG, 'if-modified-since': LONG_AGO }, 'not-modified']
  ])
})

t.test('a request Cache-Control: no-cache does not disable an origin server\'s 304 (§13.2.2 has no such exception)', async (t) => {
  // RFC 9111 §5.2.1.4 no-cache addresses caches; the origin server still
  // evaluates the preconditions the client sent.
  check(t, [
    ['no-cache, INM matches', { 'cache-control': 'no-cache', 'if-none-match': ETAG }, 'not-modified'],
    ['no-cache, IMS matches', { 'cache-control': 'no-cache', 'if-modified-since': LAST_MODIFIED }, 'not-modified']
  ])
})

t.test('asctime-date is GMT (§5.6.7) whatever the server\'s time zone', async (t) => {
  const saved = process.env.TZ
  t.teardown(() => {
    if (saved === undefined) delete process.env.TZ
    else process.env.TZ = saved
  })
  // A zone west and a zone east of UTC: a date read as local time is off by
  // hours one way or the other.
  for (const zone of ['America/New_York', 'Asia/Tokyo']) {
    process.env.TZ = zone
    check(t, [
      [`${zone}: IMS asctime-date equal to Last-Modified`, { 'if-modified-since': 'Wed May  1 12:34:56 2024' }, 'not-modified'],
      [`${zone}: IMS asctime-date one second earlier`, { 'if-modified-since': 'Wed May  1 12:34:55 2024' }, 'proceed'],
      [`${zone}: IUS asctime-date equal to Last-Modified`, { 'if-unmodified-since': 'Wed May  1 12:34:56 2024' }, 'proceed'],
      [`${zone}: IUS asctime-date one second earlier`, { 'if-unmodified-since': 'Wed May  1 12:34:55 2024' }, 'failed']
    ])
  }
})

t.test('If-Range, §13.1.5: an entity tag must match strongly', async (t) => {
  const cases: Array<[string, boolean, string]> = [
    [ETAG, true, 'the current tag'],
    [` ${ETAG} `, true, 'the current tag with surrounding spaces'],
    [`W/${ETAG}`, false, 'the weak form of the current tag: a weak tag never matches'],
    ['"other"', false, 'another tag'],
    [ETAG.toUpperCase(), false, 'opaque-tag differs in case'],
    ['"3f2a9"', false, 'a prefix of the tag'],
    [`${ETAG}, "other"`, false, 'a list (If-Range carries one validator)'],
    [`"other", ${ETAG}`, false, 'a list ending with the tag'],
    ['*', false, '"*" is not a validator'],
    ['3f2a9c', false, 'the tag unquoted'],
    ['', false, 'empty']
  ]
  for (const [header, expected, description] of cases) {
    t.equal(ifRangeMatches(header, validators), expected, `${description}: ${JSON.stringify(header)}`)
  }
})

t.test('If-Range, §13.1.5: a date must equal Last-Modified exactly', async (t) => {
  const cases: Array<[string, boolean, string]> = [
    [LAST_MODIFIED, true, 'exactly Last-Modified'],
    [httpDate(validators.lastModified), true, 'the Last-Modified that was sent (whole seconds)'],
    [SECOND_LATER, false, 'one second later (not "later or equal")'],
    [SECOND_EARLIER, false, 'one second earlier'],
    [LONG_AGO, false, 'long ago'],
    ['not a date', false, 'invalid'],
    ['Wed, 01 May 2024 25:34:56 GMT', false, 'hour out of range']
  ]
  for (const [header, expected, description] of cases) {
    t.equal(ifRangeMatches(header, validators), expected, `${description}: ${JSON.stringify(header)}`)
  }
  const almostNext = { etag: ETAG, lastModified: new Date('2024-05-01T12:34:56.999Z') }
  t.equal(ifRangeMatches(LAST_MODIFIED, almostNext), true, 'stored time .999 s: still the second that was sent')
})
