// Reading image facts and previews as the chat app and a browser do.
import type { FastifyInstance } from 'fastify'
import type postgres from 'postgres'
import { auth } from '../helper.js'
import { waitUntil } from './wait.js'

export interface ImageInfo {
  width: number | null
  height: number | null
  animated: boolean
  placeholder: string | null
  previews: { state: 'pending' | 'ready' | 'none' | 'failed', reason: string | null, sizes: number[], urls: Record<string, string> }
}

/** The metadata answer's `image` (internal API). */
export async function imageOf (app: FastifyInstance, dialogId: string, id: string): Promise<ImageInfo | null> {
  const res = await app.inject({ method: 'GET', url: `/internal/v1/dialogs/${dialogId}/attachments/${id}`, headers: auth() })
  if (res.statusCode !== 200) throw new Error(`metadata: ${res.statusCode} ${res.body}`)
  return (res.json() as { image: ImageInfo | null }).image
}

/** Waits until the background generation has settled (ready, none or failed) and returns the facts. */
export async function settledImage (app: FastifyInstance, dialogId: string, id: string): Promise<ImageInfo> {
  let image: ImageInfo | null = null
  await waitUntil(async () => {
    image = await imageOf(app, dialogId, id)
    return image !== null && image.previews.state !== 'pending'
  }, `the previews of ${id} settle`)
  return image!
}

/** As if the process making them had died: previews, rows and placeholder gone, state pending. */
export async function forgetPreviews (app: FastifyInstance, sql: postgres.Sql, attachmentId: string): Promise<void> {
  const keys = (await sql<Array<{ key: string }>>`SELECT storage_key AS key FROM attachment_preview WHERE attachment_id = ${attachmentId}`).map((row) => row.key)
  await app.storage.deleteMany(keys)
  await sql`DELETE FROM attachment_preview WHERE attachment_id = ${attachmentId}`
  await sql`UPDATE chat_attachment SET preview_state = 'pending', image_placeholder = NULL WHERE id = ${attachmentId}`
  // Changed behind the service: its row cache hears of it through Postgres.
  await app.rowCache?.synced()
}
