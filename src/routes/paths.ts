// The two URL spaces of the service, written once: the chat app's internal
// API and the browser-facing routes.
export const INTERNAL_PREFIX = '/internal/v1'
export const PUBLIC_PREFIX = '/v1'

/** Browser URL of an attachment's bytes, relative to the service. */
export function attachmentUrl (dialogId: string, id: string): string {
  return `${PUBLIC_PREFIX}/attachments/${dialogId}/${id}`
}

export function isPublicPath (path: string): boolean {
  return path.startsWith(`${PUBLIC_PREFIX}/`)
}
