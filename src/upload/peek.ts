import { Readable } from 'node:stream'

/**
 * Reads at least `size` bytes from the start of a stream (fewer if it ends
 * first) and returns them with a stream of the whole content, head included.
 * Destroying the returned stream destroys the source, read or not.
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
  let pending: Buffer | undefined = head.length > 0 ? head : undefined
  const body = new Readable({
    read () {
      if (pending) {
        this.push(pending)
        pending = undefined
      } else if (ended) {
        this.push(null)
      } else {
        iterator.next().then(
          (next) => { this.push(next.done ? null : next.value) },
          (err: Error) => { this.destroy(err) }
        )
      }
    },
    destroy (err, callback) {
      source.destroy(err ?? undefined)
      callback(err)
    }
  })
  return { head, body }
}
