// The sample image of `npm run dev`: uploaded and linked through the
// service's own internal API on the first start, found again on later ones
// (it is the attachment of one fixed message), so every start can print a
// URL that shows an image.
import { encodePng } from './png.js'

export const SAMPLE = { dialogId: 'dev-dialog', ownerId: 'dev-user', messageId: 'dev-message', fileName: 'sample.png' } as const

export interface Sample {
  id: string
  /** False when an earlier start had uploaded it. */
  created: boolean
}

/** A 160x120 picture: a colour gradient with a light disc in the middle. */
export function samplePng (): Buffer {
  return encodePng(160, 120, (x, y) => {
    const inDisc = (x - 80) ** 2 + (y - 60) ** 2 < 36 ** 2
    return inDisc ? [250, 245, 230] : [40 + x, 90 + y, 200 - Math.round(x / 2)]
  })
}

/** Finds the sample attachment, uploading and linking it when there is none. */
export async function ensureSample (baseUrl: string, serviceToken: string): Promise<Sample> {
  const api = `${baseUrl}/internal/v1/dialogs/${SAMPLE.dialogId}/attachments`
  const headers = { authorization: `Bearer ${serviceToken}` }
  const existing = await call<{ attachments: Array<{ id: string }> }>(`${api}?messageId=${SAMPLE.messageId}`, { headers })
  if (existing.attachments[0]) return { id: existing.attachments[0].id, created: false }

  const form = new FormData()
  form.set('ownerId', SAMPLE.ownerId)
  form.set('file', new Blob([samplePng()], { type: 'image/png' }), SAMPLE.fileName)
  const staged = await call<{ id: string }>(api, { method: 'POST', headers, body: form })
  await call(`${api}/link`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ messageId: SAMPLE.messageId, attachmentIds: [staged.id] })
  })
  return { id: staged.id, created: true }
}

async function call<T = unknown> (url: string, init: RequestInit): Promise<T> {
  const response = await fetch(url, init)
  const body = await response.text()
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${new URL(url).pathname} answered ${response.status}: ${body}`)
  return JSON.parse(body) as T
}
