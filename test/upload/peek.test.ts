// peek reads the start of an upload for type detection and hands back a
// stream of the whole file. Sources here are PassThroughs written by the test,
// like a multipart file stream that is still receiving.
import { PassThrough, Readable } from 'node:stream'
import { setImmediate as nextTurn } from 'node:timers/promises'
import t from 'tap'
import { peek } from '../../src/upload/peek.js'

async function collect (stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** A source that delivers `data` in chunks of `size` bytes, then ends. */
function chunked (data: Buffer, size: number): Readable {
  const chunks = []
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size))
  return Readable.from(chunks, { objectMode: false })
}

/** Waits a bounded number of event-loop turns for a condition (destroy is asynchronous). */
async function turnsUntil (condition: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100 && !condition(); i++) await nextTurn()
  return condition()
}

const DATA = Buffer.from('The quick brown fox jumps over the lazy dog, twice over.')

t.test('head holds at least size bytes when the stream has them; body has everything', async (t) => {
  for (const chunkSize of [1, 3, 7, 10, 100]) {
    const { head, body } = await peek(chunked(DATA, chunkSize), 10)
    t.ok(head.length >= 10, `chunks of ${chunkSize}: head has ${head.length} >= 10 bytes`)
    t.ok(head.equals(DATA.subarray(0, head.length)), 'head is the start of the content')
    t.ok((await collect(body)).equals(DATA), 'body is the whole content, head included')
  }
})

t.test('a stream shorter than size: head and body are the whole content', async (t) => {
  const { head, body } = await peek(chunked(DATA, 4), 4100)
  t.ok(head.equals(DATA))
  t.ok((await collect(body)).equals(DATA))
})

t.test('an empty stream: empty head, empty body', async (t) => {
  const { head, body } = await peek(Readable.from([], { objectMode: false }), 10)
  t.equal(head.length, 0)
  t.equal((await collect(body)).length, 0)
})

t.test('bytes written after peek returned still reach the body', async (t) => {
  const source = new PassThrough()
  source.write(DATA.subarray(0, 20))
  const result = peek(source, 10)
  const { head, body } = await result
  t.ok(head.equals(DATA.subarray(0, 20)))
  source.end(DATA.subarray(20))
  t.ok((await collect(body)).equals(DATA))
})

t.test('a source error before the head is complete rejects peek', async (t) => {
  const source = new PassThrough()
  source.write(DATA.subarray(0, 5))
  const failure = new Error('client aborted')
  setImmediate(() => source.destroy(failure))
  await t.rejects(peek(source, 10), failure)
})

t.test('a source error after peek fails the body, so a cut-off upload is never taken as complete', async (t) => {
  const source = new PassThrough()
  source.write(DATA.subarray(0, 20))
  const { body } = await peek(source, 10)
  const failure = new Error('client aborted')
  const reading = collect(body)
  setImmediate(() => source.destroy(failure))
  await t.rejects(reading, failure)
})

t.test('destroying the body before reading it destroys the source (file refused after sniffing)', async (t) => {
  // stage.ts does exactly this for an empty file or a refused type.
  const source = new PassThrough()
  source.write(DATA.subarray(0, 20))
  const { body } = await peek(source, 10)
  body.destroy()
  t.ok(await turnsUntil(() => source.destroyed), 'source destroyed')
})

t.test('destroying the body half-way, while the source waits for more data, destroys the source', async (t) => {
  // The upload is still arriving (the client sends slowly) when storage gives up.
  const source = new PassThrough()
  source.write(DATA.subarray(0, 20))
  const { body } = await peek(source, 10)
  const first = await new Promise<Buffer>((resolve) => body.once('data', resolve))
  t.ok(first.length >= 10, 'read the head')
  body.destroy()
  t.ok(await turnsUntil(() => source.destroyed), 'source destroyed')
  t.ok(await turnsUntil(() => body.closed), 'body closed')
})

t.test('destroying the body after the end is harmless', async (t) => {
  const source = chunked(DATA, 8)
  const { body } = await peek(source, 10)
  t.ok((await collect(body)).equals(DATA))
  body.destroy()
  t.ok(await turnsUntil(() => body.closed), 'body closed')
})
