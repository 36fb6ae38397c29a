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

/** The dialog segment of a key under the prefix ("" for a key outside the layout). */
export function dialogOfKey (prefix: string, key: string): string {
  if (!key.startsWith(prefix)) return ''
  const rest = key.slice(prefix.length)
  const slash = rest.indexOf('/')
  return slash < 0 ? '' : rest.slice(0, slash)
}
