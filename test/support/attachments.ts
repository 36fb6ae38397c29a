// Puts attachments in place through the internal API, as the chat app does.
import type { FastifyInstance } from 'fastify'
import { auth } from '../helper.js'
import { uploadForm } from './multipart.js'

export interface StagedAttachment {
  id: string
  dialogId: string
  ownerId: string
  fileName: string
  contentType: string
  size: number
  sha256: string
  etag: string
  lastModified: string
  url: string
}

export async function stage (app: FastifyInstance, dialogId: string, data: Buffer | string, options: { ownerId?: string, filename?: string, contentType?: string } = {}): Promise<StagedAttachment> {
  const form = uploadForm(data, { ownerId: options.ownerId ?? 'owner', filename: options.filename ?? 'file.bin', contentType: options.contentType ?? 'application/octet-stream' })
  const res = await app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments`, headers: { ...auth(), 'content-type': form.contentType }, payload: form.body })
  if (res.statusCode !== 201) throw new Error(`upload failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

/** Uploads and links to a message in one go. */
export async function attach (app: FastifyInstance, dialogId: string, data: Buffer | string, options: { ownerId?: string, filename?: string, contentType?: string, messageId?: string } = {}): Promise<StagedAttachment> {
  const staged = await stage(app, dialogId, data, options)
  const res = await app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments/link`, headers: auth(), payload: { messageId: options.messageId ?? 'm-1', attachmentIds: [staged.id] } })
  if (res.statusCode !== 200) throw new Error(`link failed: ${res.statusCode} ${res.body}`)
  return staged
}
