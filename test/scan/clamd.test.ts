// The clamd client against a real clamd with the test signature database:
// what it detects (the EICAR string alone, inside ZIPs, cut into pieces,
// across a chunk boundary of a larger file), what it lets through (a clean
// 30 MB stream, a near miss), over TCP and a unix socket, and through the tee
// the upload flow uses. Failures are in clamd-failures.test.ts.
import { Readable } from 'node:stream'
import { zip } from '../support/zip.js'
import t from 'tap'
import { InfectedError } from '../../src/errors.js'
import { assertClean, createScanner, scanStream, type Scanner } from '../../src/scan/scanner.js'
import { teeToScanner } from '../../src/scan/tee.js'
import { EICAR, EICAR_SIGNATURE, startClamd } from '../support/clamd.js'
import { randomChunks } from '../support/http.js'
import { freePort } from '../support/process.js'

const clamd = await startClamd()
t.teardown(() => clamd.close())
t.comment(`clamd answered PING ${clamd.startupMs} ms after it was spawned`)
const scanner: Scanner = createScanner(clamd.scanConfig())!
t.teardown(() => scanner.close())

const scan = (chunks: Iterable<Buffer> | AsyncIterable<Buffer>) => scanStream(scanner, Readable.from(chunks))

/** `size` bytes of pseudo-random data with the EICAR string at `offset`. */
async function withEicarAt (size: number, offset: number): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const chunk of randomChunks(size, 64 * 1024, 3)) parts.push(chunk)
  const data = Buffer.concat(parts)
  EICAR.copy(data, offset)
  return data
}

function chunksOf (data: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = []
  for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size))
  return chunks
}

t.test('SCAN_MODE=off creates no scanner', async (t) => {
  t.equal(createScanner({ ...clamd.scanConfig(), SCAN_MODE: 'off' }), undefined)
})

t.test('the EICAR string is refused with its signature name', async (t) => {
  const verdict = await scan([EICAR])
  t.same(verdict, { infected: true, signature: EICAR_SIGNATURE })
  t.throws(() => assertClean(verdict), InfectedError)
  try {
    assertClean(verdict)
  } catch (err) {
    t.match(err, { statusCode: 422, code: 'ATT_INFECTED', message: `The file contains malware (${EICAR_SIGNATURE})` })
  }
})

t.test('a near miss (EICAR without its last byte) passes: the signature is specific', async (t) => {
  t.same(await scan([EICAR.subarray(0, -1)]), { infected: false })
  t.doesNotThrow(() => assertClean({ infected: false }))
})

t.test('EICAR inside a ZIP is refused, deflated or stored', async (t) => {
  const deflated = zip('readme.txt', Buffer.concat([Buffer.from('see attachment\n'), EICAR, Buffer.from('\n')]), 'deflate')
  t.equal(deflated.indexOf(EICAR), -1, 'the string is not in the deflated archive\'s bytes: only extraction finds it')
  t.same(await scan([deflated]), { infected: true, signature: EICAR_SIGNATURE })
  t.same(await scan([zip('eicar.com', EICAR, 'store')]), { infected: true, signature: EICAR_SIGNATURE })
  t.same(await scan([zip('readme.txt', Buffer.from('nothing to see'), 'deflate')]), { infected: false }, 'a clean archive passes')
})

t.test('EICAR sent one byte per chunk, with empty writes between, is refused', async (t) => {
  const chunks = [...EICAR].flatMap((byte) => [Buffer.from([byte]), Buffer.alloc(0)])
  t.same(await scan(chunks), { infected: true, signature: EICAR_SIGNATURE })
})

t.test('EICAR straddling a 64 KiB chunk boundary inside a larger file is refused', async (t) => {
  const boundary = 64 * 1024
  const data = await withEicarAt(1024 * 1024, boundary - 30)
  const chunks = chunksOf(data, boundary)
  t.equal(chunks[0]!.indexOf(EICAR), -1, 'no single chunk holds the whole string')
  t.equal(chunks[1]!.indexOf(EICAR), -1)
  t.same(await scan(chunks), { infected: true, signature: EICAR_SIGNATURE })
})

t.test('a clean 30 MB stream, generated as it is sent, passes', { timeout: 180_000 }, async (t) => {
  let sent = 0
  async function * counted () {
    for await (const chunk of randomChunks(30 * 1024 * 1024, 64 * 1024, 11)) {
      sent += chunk.length
      yield chunk
    }
  }
  t.same(await scan(counted()), { infected: false })
  t.equal(sent, 30 * 1024 * 1024, 'every byte went to clamd')
})

t.test('over the unix socket: CLAMD_SOCKET wins over host and port', async (t) => {
  const overSocket = createScanner(clamd.scanConfig({ CLAMD_SOCKET: clamd.socketPath, CLAMD_PORT: await freePort() }))!
  t.teardown(() => overSocket.close())
  await overSocket.ping()
  t.same(await scanStream(overSocket, Readable.from([EICAR])), { infected: true, signature: EICAR_SIGNATURE })
  t.same(await scanStream(overSocket, Readable.from([Buffer.from('hello')])), { infected: false })
})

t.test('through the tee: an infected file never reaches the end of storage\'s stream', async (t) => {
  const data = await withEicarAt(1024 * 1024, 64 * 1024 - 30)
  const session = scanner.startScan()
  const output = teeToScanner(Readable.from(chunksOf(data, 64 * 1024)), session)
  let stored = 0
  let ended = false
  output.on('end', () => { ended = true })
  const error = await (async () => {
    for await (const chunk of output) stored += (chunk as Buffer).length
  })().then(() => undefined, (err: unknown) => err)
  t.type(error, InfectedError)
  t.match(error, { statusCode: 422, code: 'ATT_INFECTED', message: new RegExp(EICAR_SIGNATURE.replaceAll('.', '\\.')) })
  t.equal(ended, false, 'storage saw no end')
  t.equal(stored, data.length, 'storage got the bytes, but not the end that would complete the object')
  t.same(await session.verdict(), { infected: true, signature: EICAR_SIGNATURE })
})

t.test('through the tee: a clean file reaches storage whole, then the verdict is clean', async (t) => {
  const data = await withEicarAt(1024 * 1024, 0)
  data.fill(7, 0, EICAR.length)
  const session = scanner.startScan()
  const output = teeToScanner(Readable.from(chunksOf(data, 64 * 1024)), session)
  const stored: Buffer[] = []
  for await (const chunk of output) stored.push(chunk as Buffer)
  t.ok(Buffer.concat(stored).equals(data), 'storage got every byte')
  t.same(await session.verdict(), { infected: false })
})
