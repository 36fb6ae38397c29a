// The service's internal API as the main chat app uses it: upload-stage a
// file (multipart, service token, streamed from disk with a truthful
// Content-Length), link it to a message, delete it.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { request, type IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createSigner } from 'fast-jwt'

export interface UploadedAttachment {
  id: string
  dialogId: string
  size: number
  etag: string
  contentType: string
  /** Browser URL, relative to the service. */
  url: string
}

/** HS256 tokens for the configured secret, valid for `ttlSeconds`. */
export function tokenSigner (secret: string, ttlSeconds: number): (claims: Record<string, unknown>) => string {
  const sign = createSigner({ key: secret, algorithm: 'HS256' })
  return (claims) => {
    const now = Math.floor(Date.now() / 1000)
    return sign({ iat: now, exp: now + ttlSeconds, ...claims })
  }
}

const CLIENT_CHUNK = 1024 * 1024

/** POST /internal/v1/dialogs/:dialogId/attachments; `ms` runs from the first byte sent to the whole answer. */
export async function uploadFile (baseUrl: string, auth: Record<string, string>, input: {
  dialogId: string
  ownerId: string
  file: string
  fileName: string
}): Promise<{ attachment: UploadedAttachment, ms: number }> {
  const boundary = `----bench${randomBytes(8).toString('hex')}`
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="ownerId"\r\n\r\n${input.ownerId}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${input.fileName}"\r\n` +
    'Content-Type: application/octet-stream\r\n\r\n')
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const { size } = await stat(input.file)
  const started = performance.now()
  const req = request(`${baseUrl}/internal/v1/dialogs/${input.dialogId}/attachments`, {
    method: 'POST',
    agent: false,
    headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + size + tail.length) }
  })
  // The client shares its core with the origin: big reads keep its own CPU
  // per byte low, so the origin's core limits the service less.
  const body = Readable.from((async function * () {
    yield head
    yield * createReadStream(input.file, { highWaterMark: CLIENT_CHUNK })
    yield tail
  })())
  const [[res]] = await Promise.all([once(req, 'response') as Promise<[IncomingMessage]>, pipeline(body, req)])
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  const ms = performance.now() - started
  const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as UploadedAttachment & { message?: string }
  if (res.statusCode !== 201) throw new Error(`upload of ${input.fileName} answered ${res.statusCode}: ${json.message ?? ''}`)
  return { attachment: json, ms }
}

export async function linkAttachments (baseUrl: string, auth: Record<string, string>, dialogId: string, messageId: string, attachmentIds: string[]): Promise<void> {
  const res = await fetch(`${baseUrl}/internal/v1/dialogs/${dialogId}/attachments/link`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ messageId, attachmentIds })
  })
  if (res.status !== 200) throw new Error(`link answered ${res.status}: ${await res.text()}`)
}

export async function deleteAttachment (baseUrl: string, auth: Record<string, string>, dialogId: string, id: string): Promise<void> {
  const res = await fetch(`${baseUrl}/internal/v1/dialogs/${dialogId}/attachments/${id}`, { method: 'DELETE', headers: auth })
  if (res.status !== 204) throw new Error(`delete answered ${res.status}: ${await res.text()}`)
}

/**
 * The status of a GET sent with exactly these headers, body discarded.
 * (fetch() is no good for conditional requests: the Fetch standard makes it
 * add `Cache-Control: no-cache` whenever If-None-Match is set.)
 */
export async function statusOf (url: string, headers: Record<string, string>): Promise<number> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    request(url, { headers, agent: false }, resolve).once('error', reject).end()
  })
  res.resume()
  await once(res, 'end')
  return res.statusCode ?? 0
}
