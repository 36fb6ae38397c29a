// The server as `npm run build` ships it: one minified bundle (scripts/bundle.mjs).
// Started as its own process against real Postgres, Redis and S3, it serves
// what depends on files found by path at run time (sharp's native library,
// the HEIC worker and its WebAssembly), and with --enable-source-maps (the
// image's NODE_OPTIONS) a logged stack points into src/, not into the bundle.
import { readFileSync } from 'node:fs'
import sharp from 'sharp'
import t from 'tap'
import { auth, id, setup, token } from '../helper.js'
import { heifEnc, markerPixels, tempDir } from '../support/images.js'
import { uploadForm } from '../support/multipart.js'
import { send } from '../support/http.js'
import { compiledEntrypoint } from '../support/compiled-source.js'
import { freePort, startEntrypoint } from '../support/process.js'
import { startTcpProxy } from '../support/tcp-proxy.js'
import { waitUntil } from '../support/wait.js'

// HEVC in WebAssembly is slow on a busy machine.
t.setTimeout(300_000)
const ctx = await setup(t)
const s3 = new URL(ctx.env.S3_ENDPOINT!)
// S3 through a relay the test can cut, for the failure whose stack is read.
const relay = await startTcpProxy({ host: s3.hostname, port: Number(s3.port) })
t.teardown(() => relay.close())
const port = await freePort()
const base = `http://127.0.0.1:${port}`
const server = startEntrypoint('src/server.ts', [], {
  ...ctx.env,
  S3_ENDPOINT: `http://127.0.0.1:${relay.port}`,
  PORT: String(port),
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'
}, { timeoutMs: 280_000, nodeArgs: ['--enable-source-maps'] })
t.teardown(() => { server.child.kill('SIGKILL') })
let output = ''
server.child.stdout!.on('data', (chunk: Buffer) => { output += chunk })
await waitUntil(() => output.includes('"msg":"Server listening'), 'the server listens', 120_000)

const dialogId = id('dlg')
const ownerId = id('owner')
const viewer = { authorization: `Bearer ${token({ sub: ownerId })}` }

async function upload (data: Buffer, filename: string, contentType: string): Promise<string> {
  const form = uploadForm(data, { ownerId, filename, contentType })
  const res = await send(`${base}/internal/v1/dialogs/${dialogId}/attachments`, { method: 'POST', headers: { ...auth(), 'content-type': form.contentType }, body: form.body })
  if (res.status !== 201) throw new Error(`upload of ${filename}: ${res.status} ${String(res.body)}`)
  return (JSON.parse(String(res.body)) as { id: string }).id
}

/** The 320 preview, once its generation is over (a 503 says it is still running). */
async function preview320 (attachmentId: string) {
  let res = await send(`${base}/v1/attachments/${dialogId}/${attachmentId}/preview/320`, { headers: viewer })
  await waitUntil(async () => {
    res = await send(`${base}/v1/attachments/${dialogId}/${attachmentId}/preview/320`, { headers: viewer })
    return res.status !== 503
  }, 'the preview is generated', 240_000)
  return res
}

t.test('the server that runs is one file, with no module of the project beside it', async (t) => {
  const bundle = readFileSync(compiledEntrypoint('src/server.ts'), 'utf8')
  t.notMatch(bundle, /\bfrom\s*["']\.\.?\//, 'no relative import')
  t.notMatch(bundle, /\bimport\(\s*["']\.\.?\//, 'no relative dynamic import')
  t.match(bundle, /sourceMappingURL=server\.js\.map\s*$/, 'with its source map')
})

t.test('a JPEG preview (sharp, loaded from node_modules) and a HEIC preview (the bundled worker and its WebAssembly)', async (t) => {
  const dir = await tempDir(t)
  const [W, H] = [64, 48]
  const jpeg = await sharp(markerPixels(W, H), { raw: { width: W, height: H, channels: 3 } }).jpeg().toBuffer()
  const heic = await heifEnc(dir, markerPixels(W, H), W, H)
  for (const [name, data, type] of [['photo.jpg', jpeg, 'image/jpeg'], ['photo.heic', heic, 'image/heic']] as const) {
    const attachmentId = await upload(data, name, type)
    const res = await preview320(attachmentId)
    t.equal(res.status, 200, `${name}: preview served`)
    const meta = await sharp(res.body).metadata()
    t.same([meta.format, meta.width, meta.height], ['webp', W, H], `${name}: a WebP of the photo's size`)
  }
})

t.test('a logged failure names the TypeScript source line, not the bundle', async (t) => {
  const attachmentId = await upload(Buffer.alloc(200 * 1024, 7), 'big.bin', 'application/octet-stream')
  relay.cut()
  const res = await send(`${base}/v1/attachments/${dialogId}/${attachmentId}`, { headers: viewer })
  t.equal(res.status, 503)
  await waitUntil(() => output.includes('"msg":"request failed"'), 'the failure is logged')
  const line = output.split('\n').find((entry) => entry.includes('"msg":"request failed"'))!
  const stack = String((JSON.parse(line) as { err: { stack: string } }).err.stack)
  t.match(stack, /src\/storage\/signed-get\.ts:\d+:\d+/, 'a frame in src/storage/signed-get.ts')
  t.notMatch(stack, /server\.js:1:\d+/, 'no frame in the minified bundle')
})
