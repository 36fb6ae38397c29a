// GET /metrics on its own listener, and the counters of what users do: real
// uploads, links and downloads over a socket, each followed by a real scrape.
import t from 'tap'
import { auth, build, id, listen, setup, token } from '../helper.js'
import { uploadForm } from '../support/multipart.js'
import { send } from '../support/http.js'
import { scrape } from '../support/prometheus.js'

t.setTimeout(180_000)
const ctx = await setup(t)
// A staleness bound no stall of a busy machine reaches: the row (and the body
// kept with it) stays cached between the downloads below.
const { app } = await build(t, ctx, { ATTACHMENT_MAX_BYTES: '4096', ROW_CACHE_MAX_STALENESS_MS: '60000' })
const base = await listen(app)
const dialogId = id('dlg')
const ownerId = id('owner')
const content = Buffer.from('0123456789'.repeat(100))

async function upload (data: Buffer, headers: Record<string, string> = {}, ownerField: string | null = ownerId) {
  const form = uploadForm(data, ownerField === null ? {} : { ownerId: ownerField })
  return send(`${base}/internal/v1/dialogs/${dialogId}/attachments`, {
    method: 'POST', headers: { ...auth(), 'content-type': form.contentType, ...headers }, body: form.body
  })
}

async function link (attachmentIds: string[], messageId = 'm-1') {
  return send(`${base}/internal/v1/dialogs/${dialogId}/attachments/link`, {
    method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ messageId, attachmentIds }))
  })
}

const download = (path: string, headers: Record<string, string> = {}, method = 'GET') => send(`${base}/v1/attachments/${path}`, { method, headers })
const owner = { authorization: `Bearer ${token({ sub: ownerId })}` }
const DOWNLOAD_ROUTE = '/v1/attachments/:dialogId/:attachmentId'

t.test('metrics are served on their own port, never on the public one', async (t) => {
  const publicAnswer = await send(`${base}/metrics`)
  t.equal(publicAnswer.status, 404, 'GET /metrics on the public port: 404')
  const res = await fetch(`http://127.0.0.1:${app.metricsAddress().port}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const other = await fetch(`http://127.0.0.1:${app.metricsAddress().port}/v1/attachments`)
  t.equal(other.status, 404, 'nothing else is served there')
  const metrics = await scrape(app)
  for (const name of ['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_active_handles_total']) {
    t.ok(metrics.names().has(name), `process metric ${name}`)
  }
})

let fileId = ''
t.test('uploads by outcome and bytes; links by outcome; S3 calls by operation', async (t) => {
  const before = await scrape(app)
  const created = await upload(content)
  t.equal(created.status, 201)
  fileId = JSON.parse(String(created.body)).id
  t.equal((await upload(Buffer.alloc(5000, 1))).status, 413)
  t.equal((await upload(content, {}, null)).status, 400)
  t.equal((await send(`${base}/internal/v1/dialogs/${dialogId}/attachments`, {
    method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: Buffer.from('{}')
  })).status, 415)
  t.equal((await link([fileId])).status, 200)
  t.equal((await link([fileId], 'm-2')).status, 409)
  t.equal((await link(['00000000-0000-4000-8000-000000000000'])).status, 404)

  const after = await scrape(app)
  const moved = (name: string, labels = {}) => after.value(name, labels) - before.value(name, labels)
  for (const outcome of ['201', '413', '400', '415']) t.equal(moved('chat_attachments_uploads_total', { outcome }), 1, `uploads ${outcome}`)
  t.equal(moved('chat_attachments_upload_bytes_total'), content.length, 'bytes of the stored upload')
  for (const outcome of ['200', '409', '404']) t.equal(moved('chat_attachments_links_total', { outcome }), 1, `links ${outcome}`)
  t.ok(moved('chat_attachments_s3_requests_total', { operation: 'PutObject', outcome: 'ok' }) >= 1, 'S3 PutObject counted')
  t.ok(moved('chat_attachments_s3_request_duration_seconds_count', { operation: 'PutObject' }) >= 1, 'and timed')
  t.equal(moved('chat_attachments_http_request_duration_seconds_count', {
    route: '/internal/v1/dialogs/:dialogId/attachments', method: 'POST', status_class: '4xx'
  }), 3, 'duration by route template, method and status class')
})

t.test('downloads: bytes, 200/206/304/416, S3 GetObject, and the body kept with the row', async (t) => {
  const path = `${dialogId}/${fileId}`
  // Every change notified before now (the link) has been seen.
  await app.rowCache!.synced()
  const before = await scrape(app)
  const full = await download(path, owner)
  t.equal(full.status, 200)
  t.equal((await download(path, { ...owner, range: 'bytes=0-99' })).status, 206)
  t.equal((await download(path, { ...owner, 'if-none-match': String(full.headers.etag) })).status, 304)
  t.equal((await download(path, { ...owner, range: 'bytes=5000-6000' })).status, 416)
  t.equal((await download(path, owner, 'HEAD')).status, 200)

  const after = await scrape(app)
  const moved = (name: string, labels = {}) => after.value(name, labels) - before.value(name, labels)
  for (const status of ['200', '206', '304', '416']) t.equal(moved('chat_attachments_download_responses_total', { method: 'GET', status }), 1, `GET ${status}`)
  t.equal(moved('chat_attachments_download_responses_total', { method: 'HEAD', status: '200' }), 1, 'HEAD 200')
  t.equal(moved('chat_attachments_download_bytes_total'), content.length + 100, 'body bytes of the 200 and the 206')
  t.equal(moved('chat_attachments_s3_requests_total', { operation: 'GetObject', outcome: 'ok' }), 1, 'one GetObject: the 206 is cut from the body kept')
  t.equal(moved('chat_attachments_body_cache_lookups_total', { outcome: 'miss' }), 1, 'the 200 read the body from S3')
  t.equal(moved('chat_attachments_body_cache_lookups_total', { outcome: 'hit' }), 1, 'the 206 was answered from memory')
  t.equal(after.value('chat_attachments_body_cache_bytes', {}), content.length, 'the bytes kept')
  t.equal(moved('chat_attachments_http_request_duration_seconds_count', { route: DOWNLOAD_ROUTE, method: 'GET', status_class: '2xx' }), 2)
  t.notMatch(after.text, new RegExp(fileId), 'no attachment id in any label')
  t.notMatch(after.text, new RegExp(ownerId), 'no user id in any label')
})

t.test('cloaked denials by reason, 401s by reason; the answers stay alike', async (t) => {
  const otherDialog = id('dlg')
  const before = await scrape(app)
  const answers = await Promise.all([
    download(`${dialogId}/00000000-0000-4000-8000-000000000000`, owner),
    download(`${dialogId}/not-a-uuid`, owner),
    download(`${otherDialog}/${fileId}`, owner),
    download(`${dialogId}/${fileId}`, { authorization: `Bearer ${token({ sub: id('stranger') })}` }),
    download(`${dialogId}/${fileId}`, { authorization: `Bearer ${token({ sub: 'chat-app', scope: 'attachments:write' })}` }),
    download(`${dialogId}/${fileId}/extra`, owner)
  ])
  t.same(answers.map((res) => res.status), [404, 404, 404, 404, 404, 404])
  t.equal(new Set(answers.map((res) => String(res.body))).size, 1, 'one body for every denial')
  t.equal((await download(`${dialogId}/${fileId}`)).status, 401)
  t.equal((await download(`${dialogId}/${fileId}`, { authorization: `Bearer ${token({ sub: ownerId, exp: 1 })}` })).status, 401)
  t.equal((await download(`${dialogId}/${fileId}`, { authorization: `Bearer ${token({ sub: ownerId })}x` })).status, 401)
  t.equal((await send(`${base}/internal/v1/dialogs/${dialogId}/attachments/${fileId}`)).status, 401)

  const after = await scrape(app)
  const moved = (name: string, labels = {}) => after.value(name, labels) - before.value(name, labels)
  for (const reason of ['unknown_id', 'malformed_id', 'wrong_dialog', 'no_access', 'service_token', 'unknown_route']) {
    t.equal(moved('chat_attachments_denials_total', { reason }), 1, `denial: ${reason}`)
  }
  t.equal(moved('chat_attachments_unauthorized_total', { api: 'public', reason: 'missing' }), 1, '401: no token')
  t.equal(moved('chat_attachments_unauthorized_total', { api: 'public', reason: 'expired' }), 1, '401: expired')
  t.equal(moved('chat_attachments_unauthorized_total', { api: 'public', reason: 'signature' }), 1, '401: bad signature')
  t.equal(moved('chat_attachments_unauthorized_total', { api: 'internal', reason: 'missing' }), 1, '401 on the internal API')
})

t.test('readiness and the rate limit store are observed', async (t) => {
  t.equal((await send(`${base}/health/ready`)).status, 200)
  const metrics = await scrape(app)
  t.equal(metrics.value('chat_attachments_ready'), 1)
  t.ok(metrics.value('chat_attachments_rate_limit_store_duration_seconds_count', { outcome: 'ok' }) > 0, 'Redis command latency of the limiter')
  t.equal(metrics.value('chat_attachments_rate_limit_store_failing'), 0)
})
