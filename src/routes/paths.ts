// The two URL spaces of the service, written once: the chat app's internal
// API and the browser-facing routes.
export const INTERNAL_PREFIX = '/internal/v1'
export const PUBLIC_PREFIX = '/v1'

/** Browser URL of an attachment's bytes, relative to the service. */
export function attachmentUrl (dialogId: string, id: string): string {
  return `${PUBLIC_PREFIX}/attachments/${dialogId}/${id}`
}

/** Browser URL of one preview size of an image attachment. */
export function previewUrl (dialogId: string, id: string, size: number): string {
  return `${attachmentUrl(dialogId, id)}/preview/${size}`
}

export function isPublicPath (path: string): boolean {
  return path.startsWith(`${PUBLIC_PREFIX}/`)
}
