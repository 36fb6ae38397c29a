// The malware gate fails closed: whenever clamd cannot give a verdict (down,
// frozen, refusing the stream, closed, or answering nonsense) the scan ends
// in ScannerUnavailableError (503), never in a clean verdict and never in a
// hang; and a session destroyed at any point leaves no socket open.
import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { ScannerUnavailableError } from '../../src/errors.js'
import { createScanner, scanStream, type ScanSession, type Scanner } from '../../src/scan/scanner.js'
import { EICAR, startClamd } from '../support/clamd.js'

const clamd = await startClamd()
t.teardown(() => clamd.close())
t.comment(`clamd answered PING ${clamd.startupMs} ms after it was spawned`)

// Small enough that a frozen clamd fails a test quickly; the assertions are
// about the error, never about the time it took.
const SHORT_TIMEOUT_MS = 500

function scannerFor (t: Test, overrides: Parameters<typeof clamd.scanConfig>[0] = {}): Scanner {
  const scanner = createScanner(clamd.scanConfig(overrides))!
  t.teardown(() => scanner.close())
  return scanner
}

/** A source that never ends: only a failure can stop a scan of it. */
function endless (): Readable {
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  return new Readable({ read () { this.push(chunk) } })
}

/** Sockets this process holds open (TCP and unix), as Node itself counts them. */
function openSockets (): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap' || name === 'PipeWrap').length
}

function frozen (t: Test): void {
  clamd.freeze()
  t.teardown(() => clamd.thaw())
}

t.test('ping answers while clamd runs', async (t) => {
  await t.resolves(scannerFor(t).ping())
})

t.test('clamd stopped: scans and pings fail with ScannerUnavailableError, and work again once it is back', async (t) => {
  const scanner = scannerFor(t)
  await clamd.stop()
  t.teardown(() => clamd.start())
  const session = scanner.startScan()
  session.on('error', () => {})
  const written = scanStream(scanner, Readable.from([EICAR]))
  await t.rejects(written, { statusCode: 503, code: 'ATT_SCANNER_UNAVAILABLE', message: /cannot connect to clamd .*ECONNREFUSED/ })
  session.end(Buffer.from('hello'))
  await t.rejects(session.verdict(), ScannerUnavailableError, 'the verdict fails too')
  await t.rejects(scanner.ping(), ScannerUnavailableError)

  await clamd.start()
  await t.resolves(scanner.ping(), 'ping answers again')
  t.same(await scanStream(scanner, Readable.from([EICAR])), { infected: true, signature: 'Test.EICAR.UNOFFICIAL' })
})

t.test('clamd frozen: ping fails with ScannerUnavailableError after SCAN_TIMEOUT_MS', async (t) => {
  const scanner = scannerFor(t, { SCAN_TIMEOUT_MS: SHORT_TIMEOUT_MS })
  frozen(t)
  await t.rejects(scanner.ping(), { code: 'ATT_SCANNER_UNAVAILABLE', message: /no PONG/ })
})

t.test('ping honours an abort signal', async (t) => {
  const scanner = scannerFor(t)
  frozen(t)
  const controller = new AbortController()
  const ping = scanner.ping({ signal: controller.signal })
  controller.abort(new Error('readiness probe gave up'))
  await t.rejects(ping, /readiness probe gave up/)
})

t.test('clamd frozen while waiting for the verdict: ScannerUnavailableError, nothing judged clean', async (t) => {
  const scanner = scannerFor(t, { SCAN_TIMEOUT_MS: SHORT_TIMEOUT_MS })
  frozen(t)
  await t.rejects(scanStream(scanner, Readable.from([Buffer.from('hello')])), { code: 'ATT_SCANNER_UNAVAILABLE', message: /no answer from clamd/ })
})

t.test('clamd frozen mid-stream (it reads nothing more): the scan fails instead of hanging', async (t) => {
  const scanner = scannerFor(t, { SCAN_TIMEOUT_MS: SHORT_TIMEOUT_MS })
  frozen(t)
  const source = endless()
  await t.rejects(scanStream(scanner, source), { code: 'ATT_SCANNER_UNAVAILABLE', message: /no answer from clamd/ })
  t.equal(source.destroyed, true, 'the source was released')
})

t.test('a stream over clamd\'s StreamMaxLength is refused, never judged clean', async (t) => {
  const small = await startClamd({ streamMaxLength: '1M' })
  t.teardown(() => small.close())
  const scanner = createScanner(small.scanConfig())!
  t.teardown(() => scanner.close())
  t.same(await scanStream(scanner, Readable.from([Buffer.alloc(512 * 1024, 1)])), { infected: false }, 'below the limit: scanned')
  // Whether clamd's refusal or its closing of the connection arrives first
  // is up to the kernel; both name the operator rule.
  await t.rejects(scanStream(scanner, Readable.from([Buffer.alloc(3 * 1024 * 1024, 1)])), {
    statusCode: 503,
    code: 'ATT_SCANNER_UNAVAILABLE',
    message: /StreamMaxLength/
  })
})

t.test('a destroyed session leaves no socket open, whenever it is destroyed', async (t) => {
  const scanner = scannerFor(t)
  const baseline = openSockets()
  /** Resolves once the bytes are in the socket: the connection is up. */
  const written = (session: ScanSession, data: Buffer) => new Promise((resolve) => session.write(data, resolve))
  const stages: Array<[string, (session: ScanSession) => Promise<void>]> = [
    ['right after it was opened', async () => {}],
    ['mid-stream', async (session) => {
      await written(session, Buffer.alloc(256 * 1024, 1))
      t.equal(openSockets(), baseline + 1, 'mid-stream: one socket while the session is open')
    }],
    ['while waiting for the verdict (clamd frozen)', async (session) => {
      clamd.freeze()
      await written(session, Buffer.from('hello'))
      t.equal(openSockets(), baseline + 1, 'waiting for the verdict: one socket while the session is open')
      session.end()
    }]
  ]
  for (const [when, reach] of stages) {
    const session = scanner.startScan()
    await reach(session)
    session.destroy()
    await once(session, 'close')
    clamd.thaw()
    t.equal(openSockets(), baseline, `${when}: no socket left once the session closed`)
    await t.rejects(session.verdict(), { code: 'ERR_STREAM_PREMATURE_CLOSE' }, `${when}: the verdict fails`)
  }
  await t.resolves(scanner.ping(), 'clamd is unharmed')
})

t.test('an aborted signal destroys the session with its reason, and its socket', async (t) => {
  const scanner = scannerFor(t)
  const baseline = openSockets()
  const controller = new AbortController()
  const session = scanner.startScan({ signal: controller.signal })
  session.on('error', () => {})
  session.write(Buffer.from('partial upload'))
  controller.abort(new Error('client hung up'))
  // (events.once would reject on the 'error' that comes first)
  await new Promise((resolve) => session.once('close', resolve))
  await t.rejects(session.verdict(), /client hung up/)
  t.equal(openSockets(), baseline)
})

t.test('close() fails the open sessions and refuses new ones', async (t) => {
  const scanner = createScanner(clamd.scanConfig())!
  const session = scanner.startScan()
  session.on('error', () => {})
  session.write(Buffer.from('partial upload'))
  await scanner.close()
  await t.rejects(session.verdict(), { code: 'ATT_SCANNER_UNAVAILABLE', message: /closed/ })
  t.throws(() => scanner.startScan(), ScannerUnavailableError)
  await t.rejects(scanner.ping(), ScannerUnavailableError)
})

/** A TCP server that plays clamd badly: `answer` gets each connection. */
async function fakeClamd (t: Test, answer: (socket: Socket) => void): Promise<Scanner> {
  const server: Server = createServer(answer)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as { port: number }
  const scanner = createScanner({ ...clamd.scanConfig(), CLAMD_PORT: port })!
  t.teardown(() => scanner.close())
  return scanner
}

t.test('a fake clamd (forced rare failure) that says OK before the end of the stream is not believed', async (t) => {
  const scanner = await fakeClamd(t, (socket) => {
    socket.resume()
    socket.end('stream: OK\0')
  })
  await t.rejects(scanStream(scanner, endless()), { code: 'ATT_SCANNER_UNAVAILABLE' })
})

t.test('a fake clamd (forced rare failure) that answers ERROR: ScannerUnavailableError naming the reply', async (t) => {
  const scanner = await fakeClamd(t, (socket) => {
    socket.on('data', (data: Buffer) => { if (data.subarray(-4).equals(Buffer.alloc(4))) socket.end('stream: Can\'t allocate memory ERROR\0') })
  })
  await t.rejects(scanStream(scanner, Readable.from([Buffer.from('hello')])), { code: 'ATT_SCANNER_UNAVAILABLE', message: /allocate memory ERROR/ })
})

t.test('a fake clamd (forced rare failure) that hangs up without a verdict: ScannerUnavailableError', async (t) => {
  const scanner = await fakeClamd(t, (socket) => {
    socket.on('data', (data: Buffer) => { if (data.subarray(-4).equals(Buffer.alloc(4))) socket.end() })
  })
  await t.rejects(scanStream(scanner, Readable.from([Buffer.from('hello')])), { code: 'ATT_SCANNER_UNAVAILABLE', message: /before its verdict/ })
})
