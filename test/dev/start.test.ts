// `npm start` (scripts/start.mjs): without a build, one line saying to build
// instead of a MODULE_NOT_FOUND stack; with one, the server runs with the
// variables of .env under those of the environment, and no defaults.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const START = fileURLToPath(new URL('../../scripts/start.mjs', import.meta.url))

/** A checkout holding only scripts/start.mjs (and what the test adds). */
const checkout = () => t.testdir({ scripts: { 'start.mjs': readFileSync(START, 'utf8') } })

async function start (cwd: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['scripts/start.mjs'], { cwd, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk })
  const [code] = await once(child, 'close') as [number | null]
  return { code, stdout, stderr }
}

t.test('no build: exit 1 and one line saying what to run', async (t) => {
  const { code, stdout, stderr } = await start(checkout())
  t.equal(code, 1)
  t.equal(stderr, 'dist/server.js is missing: run `npm run build` first (or `npm run dev` for the development server).\n')
  t.notMatch(stderr, /MODULE_NOT_FOUND|\bat .+:\d+:\d+/, 'no stack')
  t.equal(stdout, '')
})

t.test('a build: the server gets .env under the environment, and nothing invented', async (t) => {
  const root = checkout()
  await mkdir(join(root, 'dist'))
  // Stands in for the built server: reports what it was started with.
  await writeFile(join(root, 'dist', 'server.js'), 'process.stdout.write(JSON.stringify({ a: process.env.A, b: process.env.B, database: process.env.DATABASE_URL ?? null, aws: process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED }))\n')
  await writeFile(join(root, '.env'), 'A=from-file\nB=from-file\n')
  const { code, stdout } = await start(root, { B: 'from-environment' })
  t.equal(code, 0)
  t.same(JSON.parse(stdout), { a: 'from-file', b: 'from-environment', database: null, aws: 'true' })
})
