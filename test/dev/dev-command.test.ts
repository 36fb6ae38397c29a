// `npm run dev` on a machine with nothing but Node.js: no Postgres, Redis or
// S3 variables and no postgres, pg_ctl or redis-server on PATH. It starts an
// embedded Postgres and the local S3-protocol server, uploads a sample image
// and prints tokens that serve real uploads and downloads; SIGINT or SIGTERM
// to the npm process alone stops every process it started; a second
// instance and the CLIs use its services; a second start reuses the data; a
// failed start says why in one line and leaves nothing running.
// Slow (a real initdb, several starts on a busy machine): its own timeout.
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { encodePng } from '../support/png.js'
import { freePort } from '../support/process.js'
import { groupMembers, isRunning, mentioning, type ProcessInfo } from '../support/process-tree.js'
import { npmRun, pathWithout, type NpmRun } from '../support/npm-script.js'

t.setTimeout(900_000)
const START_MS = 240_000
const STOP_MS = 60_000

const folder = await mkdtemp(join(tmpdir(), 'chat-attachments-dev-'))
// Run as root, Postgres runs as the user postgres, which must reach the data.
await chmod(folder, 0o755)
t.teardown(() => rm(folder, { recursive: true, force: true }))
const PATH = await pathWithout(['postgres', 'pg_ctl', 'redis-server'], folder)
const dataDir = join(folder, 'data')

/** The environment of a fresh terminal: no service variables, no .env. */
const bareEnv = (extra: Record<string, string> = {}) => ({
  PATH,
  ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
  DEV_DATA_DIR: dataDir,
  DEV_ENV_FILE: join(folder, 'absent.env'),
  npm_config_update_notifier: 'false',
  ...extra
})

interface Banner { token: string, viewerToken: string, sampleUrl: string, linkToken: string, base: string, sampleId: string }

async function started (run: NpmRun): Promise<Banner> {
  await run.waitFor(/More tokens: npm run/, START_MS)
  const text = run.stdout()
  const sample = /(http:\/\/localhost:\d+)\/v1\/attachments\/dev-dialog\/([0-9a-f-]{36})\?token=(\S+)/.exec(text)!
  return {
    token: /export TOKEN=(\S+)/.exec(text)![1]!,
    viewerToken: /export VIEWER_TOKEN=(\S+)/.exec(text)![1]!,
    base: sample[1]!,
    sampleId: sample[2]!,
    sampleUrl: `${sample[1]}/v1/attachments/dev-dialog/${sample[2]}`,
    linkToken: sample[3]!
  }
}

const describe = (info: ProcessInfo) => `${info.pid} ${info.command}`

/**
 * Sends `signal` to the npm process alone (or, as a terminal's Ctrl-C does,
 * to its whole process group) and checks that everything it started is gone
 * (and, when it ran the services, that nothing uses the data any more).
 */
async function stopAndCheck (t: Test, run: NpmRun, signal: NodeJS.Signals, { ranServices = true, group = false } = {}): Promise<void> {
  const running = run.tree()
  t.ok(running.length >= 1, `processes below npm before the ${signal}: ${running.length}`)
  process.kill(group ? -run.child.pid! : run.child.pid!, signal)
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, STOP_MS, 'timeout').unref())
  const result = await Promise.race([run.exited, timeout])
  t.not(result, 'timeout', `after the ${signal}, npm ended within ${STOP_MS} ms`)
  if (result !== 'timeout') t.ok(result.code === 0 || result.signal === signal, `ended cleanly (${JSON.stringify(result)})`)
  t.same(run.seen().filter(isRunning).map(describe), [], 'no process it ever started is left')
  t.same(groupMembers(run.child.pid!).map(describe), [], 'its process group is empty')
  if (ranServices) t.same(mentioning(dataDir).map(describe), [], 'nothing runs on its data folder')
}

async function upload (banner: Banner, bytes: Buffer): Promise<string> {
  const api = `${banner.base}/internal/v1/dialogs/dev-dialog/attachments`
  const auth = { authorization: `Bearer ${banner.token}` }
  const form = new FormData()
  form.set('ownerId', 'dev-user')
  form.set('file', new Blob([bytes], { type: 'image/png' }), 'test.png')
  const staged = await fetch(api, { method: 'POST', headers: auth, body: form })
  if (staged.status !== 201) throw new Error(`upload: ${staged.status} ${await staged.text()}`)
  const { id } = await staged.json() as { id: string }
  const linked = await fetch(`${api}/link`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ messageId: 'test-message', attachmentIds: [id] }) })
  if (linked.status !== 200) throw new Error(`link: ${linked.status} ${await linked.text()}`)
  return id
}

const download = async (url: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { headers })
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) }
}

const image = encodePng(24, 16)
const state: { first?: Banner, uploadedId?: string } = {}

t.test('first start: embedded Postgres, local S3, rate limit in memory; the printed tokens and URL work', async (t) => {
  const port = await freePort()
  const run = npmRun(t, 'dev', [], bareEnv({ PORT: String(port) }))
  const banner = state.first = await started(run)
  const out = run.stdout()
  t.equal(banner.base, `http://localhost:${port}`, 'advertises localhost on PORT')
  t.match(out, `Postgres  embedded, data in ${join(dataDir, 'postgres')}`)
  t.match(out, `data in ${join(dataDir, 's3')}`)
  t.match(out, 'Redis     none: the rate limit counts in this process')
  t.match(out, /"msg":"Rate limit counted in process memory/, 'the log says so at start')
  t.match(out, 'uploaded and linked just now', 'the sample is new')
  t.ok(existsSync(join(dataDir, 'postgres', 'PG_VERSION')), 'a Postgres cluster in the data folder')
  const postmaster = Number((await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0])
  t.ok(run.tree().some((info) => info.pid === postmaster), 'its postmaster was started by the command')

  const sample = await download(`${banner.sampleUrl}?token=${banner.linkToken}`)
  t.equal(sample.status, 200, 'the sample URL with its link token')
  t.equal(sample.headers.get('content-type'), 'image/png')
  t.equal(sample.headers.get('cross-origin-resource-policy'), 'cross-origin', 'embeddable from a page on any port')
  t.same(sample.body.subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'a PNG')

  state.uploadedId = await upload(banner, image)
  const mine = await download(`${banner.base}/v1/attachments/dev-dialog/${state.uploadedId}`, { authorization: `Bearer ${banner.viewerToken}` })
  t.equal(mine.status, 200, 'uploaded and linked with TOKEN, read with VIEWER_TOKEN')
  t.same(mine.body, image, 'the same bytes')

  t.test('a second instance on another PORT uses the same Postgres and S3; SIGTERM stops it alone', async (t) => {
    const second = npmRun(t, 'dev', [], bareEnv({ PORT: String(await freePort()) }))
    const other = await started(second)
    t.match(second.stdout(), /Postgres {2}embedded, run by the npm run dev with pid \d+/)
    t.equal(other.sampleId, banner.sampleId, 'the same sample, not a second one')
    const through = await download(`${other.base}/v1/attachments/dev-dialog/${state.uploadedId}`, { authorization: `Bearer ${other.viewerToken}` })
    t.same(through.body, image, 'the first instance\'s upload, through the second')
    await stopAndCheck(t, second, 'SIGTERM', { ranServices: false })
    t.equal((await download(`${banner.sampleUrl}?token=${banner.linkToken}`)).status, 200, 'the first instance still serves')
  })

  t.test('npm run cleanup uses the running instance\'s services', async (t) => {
    const cleanup = npmRun(t, 'cleanup', ['--dry-run'], bareEnv())
    const { code } = await cleanup.exited
    t.equal(code, 0, 'exit code 0', { stderr: cleanup.stderr() })
    t.match(cleanup.stdout(), /^\{"dryRun":true,"staleFound":0,/m, 'its JSON summary')
    t.match(cleanup.stderr(), 'cleanup: Postgres: embedded, run by the npm run dev with pid')
  })

  t.test('SIGINT to the npm process alone stops the server, Postgres and S3', async (t) => {
    await stopAndCheck(t, run, 'SIGINT')
    t.notOk(existsSync(join(dataDir, 'postgres', 'postmaster.pid')), 'Postgres shut down cleanly (no postmaster.pid)')
    t.notOk(isRunning({ pid: postmaster, startTime: run.seen().find((info) => info.pid === postmaster)!.startTime }), 'the postmaster is gone')
    t.notOk(existsSync(join(dataDir, 'services.json')), 'it no longer advertises its services')
    await t.rejects(fetch(banner.base), 'the port is closed')
  })
})

t.test('the CLIs start and stop their own services when no npm run dev runs', async (t) => {
  const cleanup = npmRun(t, 'cleanup', ['--dry-run'], bareEnv())
  const { code } = await cleanup.exited
  t.equal(code, 0, 'exit code 0', { stderr: cleanup.stderr() })
  t.match(cleanup.stdout(), /^\{"dryRun":true,/m)
  t.match(cleanup.stderr(), `cleanup: Postgres: embedded, data in ${join(dataDir, 'postgres')}`)
  t.same(cleanup.seen().filter(isRunning).map(describe), [], 'nothing it started is left')
  t.same(mentioning(dataDir).map(describe), [], 'nothing runs on the data folder')
})

t.test('a second start reuses the data and uploads no second sample; a terminal\'s Ctrl-C stops it', async (t) => {
  const run = npmRun(t, 'dev', [], bareEnv({ PORT: String(await freePort()) }))
  const banner = await started(run)
  t.match(run.stdout(), 'uploaded on the first start')
  t.equal(banner.sampleId, state.first!.sampleId, 'the same sample')
  const list = await fetch(`${banner.base}/internal/v1/dialogs/dev-dialog/attachments?messageId=dev-message`, { headers: { authorization: `Bearer ${banner.token}` } })
  t.equal(((await list.json()) as { attachments: unknown[] }).attachments.length, 1, 'one sample attachment')
  const mine = await download(`${banner.base}/v1/attachments/dev-dialog/${state.uploadedId}`, { authorization: `Bearer ${banner.viewerToken}` })
  t.same(mine.body, image, 'the upload of the first start, bytes and row')
  await stopAndCheck(t, run, 'SIGINT', { group: true })
})

t.test('a failed first start: one line saying what to do, exit code 1, nothing left running', async (t) => {
  const unusedDataDir = join(folder, 'failed')
  const run = npmRun(t, 'dev', [], { ...bareEnv({ PORT: String(await freePort()) }), DEV_DATA_DIR: unusedDataDir, DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/attachments` })
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, START_MS, 'timeout').unref())
  const result = await Promise.race([run.exited, timeout])
  t.not(result, 'timeout', 'it ends by itself')
  if (result !== 'timeout') t.equal(result.code, 1, 'exit code 1')
  const lines = run.stderr().split('\n').filter((line) => line !== '' && !line.startsWith('npm '))
  t.equal(lines.length, 1, `one line on stderr: ${run.stderr()}`)
  t.match(lines[0], /^Cannot reach Postgres at 127\.0\.0\.1:\d+ \(DATABASE_URL\): connection refused\. .*unset DATABASE_URL to use the embedded Postgres/)
  t.notMatch(run.stderr(), /\bat .+:\d+:\d+/, 'no stack trace')
  t.ok(existsSync(join(unusedDataDir, 's3', 'chat-attachments-dev')), 'it had started the local S3 server (which made its bucket)')
  t.same(mentioning(unusedDataDir).map(describe), [], 'which is gone again')
  t.same(groupMembers(run.child.pid!).map(describe), [], 'its process group is empty')
})
