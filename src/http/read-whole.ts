import type { Readable } from 'node:stream'

/**
 * Reads a body of a known, small length to its end. Rejects when the body
 * fails, closes early, or brings more or fewer bytes than `length`; a body
 * that brings too many is destroyed at once, so at most `length` bytes plus
 * one chunk are ever held.
 */
export function readWhole (body: Readable, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let received = 0
    let ended = false
    body.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (received > length) body.destroy(new Error(`the body brought more than ${length} bytes`))
      else chunks.push(chunk)
    })
    body.once('end', () => {
      ended = true
      if (received !== length) reject(new Error(`the body ended after ${received} of ${length} bytes`))
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received))
    })
    body.once('error', reject)
    // Before 'end', the body was destroyed (no Error is built per read otherwise).
    body.once('close', () => {
      if (!ended) reject(new Error('the body closed before its end'))
    })
  })
}
