import { Readable } from 'node:stream'

/**
 * Reads at least `size` bytes from the start of a stream (fewer if it ends
 * first) and returns them with a stream of the whole content, head included.
 * Destroying the returned stream destroys the source.
 */
export async function peek (source: Readable, size: number): Promise<{ head: Buffer, body: Readable }> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const chunks: Buffer[] = []
  let length = 0
  let ended = false
  while (length < size) {
    const next = await iterator.next()
    if (next.done) {
      ended = true
      break
    }
    chunks.push(next.value)
    length += next.value.length
  }
  const head = Buffer.concat(chunks)
  async function * rest () {
    try {
      if (head.length > 0) yield head
      if (ended) return
      for (;;) {
        const next = await iterator.next()
        if (next.done) return
        yield next.value
      }
    } finally {
      await iterator.return?.()
    }
  }
  return { head, body: Readable.from(rest(), { objectMode: false }) }
}
