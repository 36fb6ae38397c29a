// Keyset cursors of the newest-first pages (access log, tombstones): the
// last row's time and unique key, opaque to the chat app (base64url JSON).
import { BadRequestError } from '../../errors.js'

export function encodeCursor (at: Date, key: string | number): string {
  return Buffer.from(JSON.stringify([at.toISOString(), key])).toString('base64url')
}

/** A 400 for anything this API did not hand out. */
export function decodeCursor<K> (text: string, isKey: (value: unknown) => value is K): { at: Date, key: K } {
  try {
    const [at, key] = JSON.parse(Buffer.from(text, 'base64url').toString()) as [string, unknown]
    const date = new Date(at)
    if (Number.isNaN(date.getTime()) || !isKey(key)) throw new Error('bad cursor')
    return { at: date, key }
  } catch {
    throw new BadRequestError('The cursor is not one this API returned')
  }
}
