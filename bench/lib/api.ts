// The service's internal API as the main chat app uses it: upload-stage a
// file (multipart, service token), then link it to a message.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { request, type IncomingMessage } from 'node:http'
import { createSigner } from 'fast-jwt'

export interface UploadedAttachment {
  id: string
  dialogId: string
  size: number
  etag: string
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

export async function uploadAttachment (baseUrl: string, serviceToken: string, input: {
  dialogId: string
  ownerId: string
  fileName: string
  data: Buffer
}): Promise<UploadedAttachment> {
  const boundary = `----bench${randomBytes(8).toString('hex')}`
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="ownerId"\r\n\r\n${input.ownerId}\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${input.fileName}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n'),
    input.data,
    Buffer.from(`\r\n--${boundary}--\r\n`)
  ])
  const res = await fetch(`${baseUrl}/internal/v1/dialogs/${input.dialogId}/attachments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serviceToken}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
    body
  })
  const json = await res.json() as UploadedAttachment & { message?: string }
  if (res.status !== 201) throw new Error(`upload of ${input.fileName} answered ${res.status}: ${json.message ?? ''}`)
  return json
}

export async function linkAttachments (baseUrl: string, serviceToken: string, dialogId: string, messageId: string, attachmentIds: string[]): Promise<void> {
  const res = await fetch(`${baseUrl}/internal/v1/dialogs/${dialogId}/attachments/link`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serviceToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messageId, attachmentIds })
  })
  if (res.status !== 200) throw new Error(`link answered ${res.status}: ${await res.text()}`)
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
