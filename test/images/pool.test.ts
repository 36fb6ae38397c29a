// The bounded pool, driven by jobs that wait on promises the test settles:
// every interleaving is set up by construction, none depends on timing.
import t from 'tap'
import { ImagePool, PreviewBusyError, PreviewTimeoutError } from '../../src/images/pool.js'

t.setTimeout(30_000)

function deferred<T = void> () {
  let resolve!: (value: T) => void
  let reject!: (reason: unknown) => void
  const promise = new Promise<T>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
  return { promise, resolve, reject }
}

/** Lets queued callbacks (a freed slot starting the next job) run. */
const tick = () => new Promise((resolve) => setImmediate(resolve))

t.test('at most `concurrency` jobs run; the queue holds `queueMax`; one more is refused at once with 503', async (t) => {
  const pool = new ImagePool({ concurrency: 2, queueMax: 1, timeoutMs: 60_000 })
  t.teardown(() => pool.close())
  const gates = [deferred(), deferred(), deferred()]
  const started: number[] = []
  const results = gates.map((gate, i) => pool.run(async () => { started.push(i); await gate.promise; return i }))
  await tick()
  t.same(started, [0, 1], 'two run')
  t.same(pool.stats(), { running: 2, queued: 1, concurrency: 2, queueMax: 1 })

  const refused = pool.run(async () => 'never')
  await t.rejects(refused, PreviewBusyError)
  const error = await refused.catch((err: unknown) => err) as { statusCode: number, code: string }
  t.equal(error.statusCode, 503)
  t.equal(error.code, 'ATT_PREVIEW_BUSY')
  t.same(started, [0, 1], 'the refused job never ran')

  gates[0]!.resolve()
  t.equal(await results[0], 0)
  await tick()
  t.same(started, [0, 1, 2], 'the queued job takes the freed slot')
  gates[1]!.resolve()
  gates[2]!.resolve()
  t.same(await Promise.all(results), [0, 1, 2])
  await tick()
  t.same(pool.stats().running, 0)
})

t.test('a job past its time limit: the caller gets PreviewTimeoutError, the slot frees when the job stops', async (t) => {
  const pool = new ImagePool({ concurrency: 1, queueMax: 1, timeoutMs: 50 })
  t.teardown(() => pool.close())
  const stopped = deferred()
  let aborted: unknown
  const slow = pool.run(async ({ signal }) => {
    // Stops only when the test lets it, after having seen the abort.
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    aborted = signal.reason
    await stopped.promise
  })
  const next = pool.run(async () => 'next ran')
  await t.rejects(slow, PreviewTimeoutError)
  t.type(aborted, PreviewTimeoutError, 'the job\'s signal fired with the timeout')
  t.same(pool.stats(), { running: 1, queued: 1, concurrency: 1, queueMax: 1 }, 'the overrunning job still holds its slot')
  stopped.resolve()
  t.equal(await next, 'next ran', 'the pool goes on once it has stopped')
  await tick()
  t.same(pool.stats().running, 0)
})

t.test('a caller that gives up: a queued job leaves the queue, a running one is aborted', async (t) => {
  const pool = new ImagePool({ concurrency: 1, queueMax: 5, timeoutMs: 60_000 })
  t.teardown(() => pool.close())
  const running = new AbortController()
  const queued = new AbortController()
  let sawAbort = false
  const first = pool.run(({ signal }) => new Promise((resolve) => {
    signal.addEventListener('abort', () => { sawAbort = true; resolve('stopped') }, { once: true })
  }), { signal: running.signal })
  let secondRan = false
  const second = pool.run(async () => { secondRan = true }, { signal: queued.signal })
  t.same(pool.stats().queued, 1)
  queued.abort(new Error('client left'))
  await t.rejects(second, { message: 'client left' })
  t.same(pool.stats().queued, 0, 'removed from the queue')
  running.abort(new Error('client left too'))
  await t.rejects(first, { message: 'client left too' })
  t.ok(sawAbort, 'the running job was told to stop')
  await tick()
  t.equal(secondRan, false)
  t.same(pool.stats().running, 0)
})

t.test('close refuses new jobs, drops queued ones and waits for running ones', async (t) => {
  const pool = new ImagePool({ concurrency: 1, queueMax: 5, timeoutMs: 60_000 })
  const gate = deferred()
  const running = pool.run(() => gate.promise.then(() => 'finished'))
  const queued = pool.run(async () => 'never')
  let closed = false
  const closing = pool.close().then(() => { closed = true })
  await t.rejects(queued, { message: 'The image pool is closed' })
  await t.rejects(pool.run(async () => 'late'), { message: 'The image pool is closed' })
  await tick()
  t.equal(closed, false, 'close waits for the running job')
  gate.resolve()
  t.equal(await running, 'finished')
  await closing
})

t.test('a job that throws frees its slot', async (t) => {
  const pool = new ImagePool({ concurrency: 1, queueMax: 0, timeoutMs: 60_000 })
  t.teardown(() => pool.close())
  await t.rejects(pool.run(() => { throw new Error('sync failure') }), { message: 'sync failure' })
  await t.rejects(pool.run(async () => { throw new Error('async failure') }), { message: 'async failure' })
  t.equal(await pool.run(async () => 'fine'), 'fine')
  t.throws(() => new ImagePool({ concurrency: 0, queueMax: 0, timeoutMs: 1 }), RangeError)
})
