// What a reader gets: headers, safe types and dispositions, conditional
// requests (RFC 9110 §13), ranges (§14) and HEAD.
import { randomBytes } from 'node:crypto'
import contentDisposition from 'content-disposition'
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { build, id, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'
import { PNG_1X1 } from '../support/multipart.js'
import { INLINE_IMAGE_CSP } from '../../src/routes/public/download.js'

const ctx = await setup(t)
const { app } = await build(t, ctx)

const dialogId = id('dlg')
const ownerId = id('owner')
const user = { authorization: `Bearer ${token({ sub: ownerId })}` }
const bytes = randomBytes(1000)
const png = await attach(app, dialogId, PNG_1X1, { ownerId, filename: 'фото.png' })
const binary = await attach(app, dialogId, bytes, { ownerId, filename: 'data.bin' })
const html = await attach(app, dialogId, '<!DOCTYPE html><script>alert(document.cookie)</script>', { ownerId, filename: 'page.html', contentType: 'text/html' })
const svg = await attach(app, dialogId, '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', { ownerId, filename: 'logo.svg', contentType: 'image/svg+xml' })
const pdf = await attach(app, dialogId, '%PDF-1.7\n1 0 obj <<>> endobj\n', { ownerId, filename: 'report.pdf' })

const get = (a: { id: string }, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET', query = '') =>
  app.inject({ method, url: `/v1/attachments/${dialogId}/${a.id}${query}`, headers: { ...user, ...headers } })

function assertSecurityHeaders (t: Test, res: LightMyRequestResponse, label: string) {
  t.equal(res.headers['x-content-type-options'], 'nosniff', `${label}: nosniff`)
  t.match(res.headers['content-security-policy'], /^default-src 'none';.*\bsandbox$/, `${label}: CSP sandbox`)
  t.equal(res.headers['cross-origin-resource-policy'], 'same-site', `${label}: CORP`)
  t.equal(res.headers['referrer-policy'], 'no-referrer', `${label}: Referrer-Policy`)
}

t.test('a download: type, length, ranges, validators, caching and safety headers', async (t) => {
  const res = await get(binary)
  t.equal(res.statusCode, 200)
  t.ok(res.rawPayload.equals(bytes))
  t.equal(res.headers['content-type'], 'application/octet-stream')
  t.equal(res.headers['content-length'], '1000')
  t.equal(res.headers['accept-ranges'], 'bytes')
  t.equal(res.headers['cache-control'], 'private, no-cache')
  t.equal(res.headers.etag, binary.etag)
  t.equal(res.headers['last-modified'], new Date(Math.floor(Date.parse(binary.lastModified) / 1000) * 1000).toUTCString())
  t.equal(res.headers['content-security-policy'], "default-src 'none'; sandbox")
  assertSecurityHeaders(t, res, '200')
})

t.test('inline only for raster images, and never with ?download=1', async (t) => {
  const image = await get(png)
  t.equal(image.headers['content-type'], 'image/png')
  t.same(contentDisposition.parse(image.headers['content-disposition'] as string), { type: 'inline', parameters: { filename: 'фото.png' } })
  t.match(image.headers['content-disposition'], /^inline; filename="[\x20-\x7e]+"; filename\*=UTF-8''%D1%84%D0%BE%D1%82%D0%BE\.png$/)
  assertSecurityHeaders(t, image, 'inline image')
  t.equal(contentDisposition.parse((await get(png, {}, 'GET', '?download=1')).headers['content-disposition'] as string).type, 'attachment')
  for (const [name, a] of [['pdf', pdf], ['binary', binary]] as const) {
    t.equal(contentDisposition.parse((await get(a)).headers['content-disposition'] as string).type, 'attachment', name)
  }
})

t.test('HTML and SVG are never inline and never script-capable', async (t) => {
  for (const [name, a] of [['html', html], ['svg', svg]] as const) {
    const res = await get(a)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['content-type'], 'application/octet-stream', `${name}: inert type`)
    t.match(res.headers['content-disposition'], /^attachment;/, `${name}: a download`)
    t.equal(res.headers['content-security-policy'], "default-src 'none'; sandbox")
  }
})

t.test('any stored file name gives a valid header: Unicode, quotes, CR/LF, emoji', async (t) => {
  const names = ['naïve "quoted" \\ name.txt', 'line\r\nbreak.txt', 'Set-Cookie: x=y\r\n\r\n.txt', '😀 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓.txt', 'مرحبا.txt', '%2e%2e%2f.txt']
  for (const name of names) {
    // Written straight into the row: a legacy import could hold any name.
    await ctx.sql`UPDATE chat_attachment SET file_name = ${name} WHERE id = ${binary.id}`
    // Changed behind the service: its row cache hears of it through Postgres.
    await app.rowCache?.synced()
    const res = await get(binary)
    t.equal(res.statusCode, 200, JSON.stringify(name))
    const header = res.headers['content-disposition'] as string
    t.match(header, /^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''[A-Za-z0-9!#$&+\-.^_`|~%]+$/, 'printable ASCII only')
    t.equal(contentDisposition.parse(header).parameters.filename, name, 'filename* carries the exact name')
  }
})

t.test('conditional requests (RFC 9110 §13): 304 without a body, decided from the row', async (t) => {
  const lastModified = new Date(Math.floor(Date.parse(binary.lastModified) / 1000) * 1000)
  const later = new Date(lastModified.getTime() + 60_000).toUTCString()
  const earlier = new Date(lastModified.getTime() - 60_000).toUTCString()
  const cases: Array<[string, Record<string, string>, number]> = [
    ['If-None-Match: the tag', { 'if-none-match': binary.etag }, 304],
    ['If-None-Match: a list with the tag', { 'if-none-match': `"nope", ${binary.etag}, "other"` }, 304],
    ['If-None-Match: *', { 'if-none-match': '*' }, 304],
    ['If-None-Match: the weak form (weak comparison)', { 'if-none-match': `W/${binary.etag}` }, 304],
    ['If-None-Match: another tag', { 'if-none-match': '"something-else"' }, 200],
    ['If-None-Match wins: no match, even though If-Modified-Since would', { 'if-none-match': '"other"', 'if-modified-since': later }, 200],
    ['If-None-Match wins: a match, even though If-Modified-Since would not', { 'if-none-match': binary.etag, 'if-modified-since': earlier }, 304],
    ['If-Modified-Since: at Last-Modified', { 'if-modified-since': lastModified.toUTCString() }, 304],
    ['If-Modified-Since: later', { 'if-modified-since': later }, 304],
    ['If-Modified-Since: earlier', { 'if-modified-since': earlier }, 200],
    ['If-Modified-Since: not a date', { 'if-modified-since': 'yesterday' }, 200],
    ['If-Match: the tag', { 'if-match': binary.etag }, 200],
    ['If-Match: *', { 'if-match': '*' }, 200],
    ['If-Match: the weak form (strong comparison)', { 'if-match': `W/${binary.etag}` }, 412],
    ['If-Match: another tag', { 'if-match': '"other"' }, 412],
    ['If-Unmodified-Since: earlier', { 'if-unmodified-since': earlier }, 412],
    ['If-Unmodified-Since: later', { 'if-unmodified-since': later }, 200]
  ]
  for (const [name, headers, status] of cases) {
    const res = await get(binary, headers)
    t.equal(res.statusCode, status, name)
    if (status === 304) {
      t.equal(res.rawPayload.length, 0, `${name}: no body`)
      t.equal(res.headers.etag, binary.etag, `${name}: ETag`)
      t.equal(res.headers['cache-control'], 'private, no-cache', `${name}: Cache-Control`)
      assertOnlyValidators(t, res, name)
    }
  }
})

// RFC 9110 §15.4.5: a 304 sends what a 200 would of Cache-Control, ETag,
// Vary and Date, and SHOULD NOT send other metadata; a cache merges the
// 304's headers into the response it stored (RFC 9111 §4.3.4).
function assertOnlyValidators (t: Test, res: LightMyRequestResponse, label: string) {
  for (const name of ['last-modified', 'content-type', 'content-disposition', 'content-security-policy', 'x-content-type-options', 'cross-origin-resource-policy', 'referrer-policy']) {
    t.equal(res.headers[name], undefined, `${label}: no ${name}`)
  }
}

t.test('a 304 leaves an inline image\'s stored policy as the 200 sent it', async (t) => {
  const full = await get(png)
  t.equal(full.statusCode, 200)
  t.equal(full.headers['content-security-policy'], INLINE_IMAGE_CSP, 'the 200 of an inline image: its own CSP')
  const revalidated = await get(png, { 'if-none-match': String(full.headers.etag) })
  t.equal(revalidated.statusCode, 304)
  t.equal(revalidated.headers.etag, full.headers.etag)
  t.equal(revalidated.headers['cache-control'], full.headers['cache-control'])
  // Before: the browser route's default CSP came with the 304 and replaced
  // the stored one, so the image opened from the cache lost its img-src.
  assertOnlyValidators(t, revalidated, 'inline image 304')
})

t.test('ranges (RFC 9110 §14): one range is 206, several or malformed are 200, impossible is 416', async (t) => {
  const size = bytes.length
  const partial: Array<[string, number, number]> = [
    ['bytes=0-0', 0, 0], ['bytes=0-99', 0, 99], ['bytes=990-', 990, 999], ['bytes=-10', 990, 999],
    ['bytes=-5000', 0, 999], ['bytes=500-5000', 500, 999], ['BYTES= 10-19 ', 10, 19], ['bytes=999-999', 999, 999]
  ]
  for (const [range, start, end] of partial) {
    const res = await get(binary, { range })
    t.equal(res.statusCode, 206, range)
    t.equal(res.headers['content-range'], `bytes ${start}-${end}/${size}`, `${range}: Content-Range`)
    t.equal(res.headers['content-length'], String(end - start + 1))
    t.ok(res.rawPayload.equals(bytes.subarray(start, end + 1)), `${range}: exactly those bytes`)
    assertSecurityHeaders(t, res, range)
  }
  for (const range of ['bytes=1000-', 'bytes=1000-2000', 'bytes=-0', 'bytes=5000-5001']) {
    const res = await get(binary, { range })
    t.equal(res.statusCode, 416, range)
    t.equal(res.headers['content-range'], `bytes */${size}`, `${range}: Content-Range`)
    t.equal(res.json().code, 'ATT_RANGE_NOT_SATISFIABLE')
    assertSecurityHeaders(t, res, range)
  }
  const many = `bytes=${Array.from({ length: 300 }, (_, i) => `${i}-${i}`).join(',')}`
  for (const range of ['bytes=0-1,5-6', many, 'bytes=5-2', 'bytes=abc', 'bytes=-', 'bytes=1-2x', 'items=0-1', '0-1']) {
    const res = await get(binary, { range })
    t.equal(res.statusCode, 200, `${range.slice(0, 30)}: the full representation`)
    t.ok(res.rawPayload.equals(bytes))
  }
})

t.test('If-Range: a stale validator turns a range into the full 200', async (t) => {
  const date = new Date(Math.floor(Date.parse(binary.lastModified) / 1000) * 1000)
  const cases: Array<[string, number]> = [
    [binary.etag, 206], ['"stale"', 200], [`W/${binary.etag}`, 200],
    [date.toUTCString(), 206], [new Date(date.getTime() - 1000).toUTCString(), 200], ['garbage', 200]
  ]
  for (const [ifRange, status] of cases) {
    const res = await get(binary, { range: 'bytes=0-9', 'if-range': ifRange })
    t.equal(res.statusCode, status, `If-Range: ${ifRange}`)
    t.equal(res.rawPayload.length, status === 206 ? 10 : 1000)
  }
})

t.test('HEAD answers exactly the GET status and headers, without a body', async (t) => {
  const strip = (res: LightMyRequestResponse) => {
    const { date: _date, 'x-ratelimit-remaining': _remaining, 'x-ratelimit-reset': _reset, ...headers } = res.headers
    return { status: res.statusCode, headers }
  }
  const cases: Array<[string, { id: string }, Record<string, string>]> = [
    ['200', binary, {}], ['200 inline image', png, {}], ['304', binary, { 'if-none-match': binary.etag }],
    ['412', binary, { 'if-match': '"x"' }], ['401', binary, { authorization: 'Bearer nope' }]
  ]
  for (const [name, a, headers] of cases) {
    const [head, full] = [await get(a, headers, 'HEAD'), await get(a, headers, 'GET')]
    t.same(strip(head), strip(full), name)
    t.equal(head.rawPayload.length, 0, `${name}: no body`)
  }
  const ranged = await get(binary, { range: 'bytes=0-9' }, 'HEAD')
  t.equal(ranged.statusCode, 200, 'Range is defined for GET only (RFC 9110 §14.2): HEAD describes the whole')
  t.equal(ranged.headers['content-length'], '1000')
})
