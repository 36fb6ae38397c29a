// Object key layout: "<S3_KEY_PREFIX><dialogId>/<attachmentId>".
// - Only ids chosen or validated by the service appear in a key; a file's name
//   never does, so no user input can traverse or collide.
// - The dialog segment lets an operator list or erase one dialog by prefix.
// - The orphan sweep lists S3_KEY_PREFIX only; imported legacy objects keep
//   their old keys outside it and are never swept.
export function attachmentKey (prefix: string, dialogId: string, attachmentId: string): string {
  return `${prefix}${dialogId}/${attachmentId}`
}

/** Every object of one dialog (for erasure). */
export function dialogPrefix (prefix: string, dialogId: string): string {
  return `${prefix}${dialogId}/`
}

// A preview lives next to its original: "<original key>.preview-<size>.<ext>".
// Derived from the original's key (imported legacy keys included), so the
// objects of one attachment share a prefix (dialog erasure lists it) and the
// orphan sweep, which lists S3_KEY_PREFIX, checks them against
// attachment_preview like originals against chat_attachment.
const EXTENSIONS: Readonly<Record<string, string>> = { webp: 'webp', jpeg: 'jpg', png: 'png' }

export function previewKey (originalKey: string, size: number, format: 'webp' | 'jpeg' | 'png'): string {
  return `${originalKey}.preview-${size}.${EXTENSIONS[format]!}`
}

/** The file extension a preview of this format is served with. */
export function previewExtension (format: string): string {
  return EXTENSIONS[format] ?? format
}
