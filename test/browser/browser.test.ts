// What a real browser does with GET /v1/attachments/...: Chromium renders an
// image, revalidates it (304), downloads active content and never runs its
// script. Three loopback servers: the real app, a page server for the
// documents that embed attachments, and a beacon that counts every script
// that managed to run.
//
// The browser reaches the app and the pages as `localhost` (other ports, same
// site), not as 127.0.0.1: Chromium never treats an IP-address host as same
// site for Cross-Origin-Resource-Policy (services/network, ShouldAllowSameSite),
// so the service's default `CORP: same-site` blocks every <img> across ports
// of 127.0.0.1. The last test uses exactly that as its cross-site page.
import { createServer, type RequestListener, type Server } from 'node:http'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { auth, build, id, listen, setup, token } from '../helper.js'
import { createTempDir } from '../support/leftovers.js'
import { uploadForm } from '../support/multipart.js'
import { encodePng } from '../support/png.js'

const PNG_WIDTH = 16
const PNG_HEIGHT = 8
const PNG = encodePng(PNG_WIDTH, PNG_HEIGHT)

const ctx = await setup(t)
const { app } = await build(t, ctx)
const service = (await listen(app)).replace('//127.0.0.1:', '//localhost:')

// What the service itself answered, taken from its own socket: a 304 here is
// a 304 on the wire, not a cached 200 that the browser relabelled.
interface Served { url: string, status: number, ifNoneMatch: string | undefined }
const served: Served[] = []
app.server.on('request', (req, res) => {
  res.once('finish', () => served.push({ url: req.url ?? '', status: res.statusCode, ifNoneMatch: req.headers['if-none-match'] }))
})
const servedFor = (path: string) => served.filter((entry) => entry.url.split('?')[0] === path)

// Documents and control files, by path.
const files = new Map<string, { type: string, body: string }>()
const pagePort = await start((req, res) => {
  const file = files.get(req.url ?? '')
  res.writeHead(file ? 200 : 404, { 'content-type': file?.type ?? 'text/plain', 'cache-control': 'no-store' })
  res.end(file?.body ?? 'not found')
})
const pages = `http://localhost:${pagePort}`
const crossSitePages = `http://127.0.0.1:${pagePort}`

const hits: string[] = []
const beaconPort = await start((req, res) => {
  hits.push(new URL(req.url ?? '/', 'http://beacon').searchParams.get('via') ?? '?')
  res.writeHead(204, { 'access-control-allow-origin': '*' })
  res.end()
})
const beacon = `http://127.0.0.1:${beaconPort}`

// Chromium dies with this process (its pipe closes), but the profile and
// artifact folders Playwright makes in the temp folder would stay: they go
// into one of ours, which the next run sweeps if this file is killed.
const systemTemp = process.env.TMPDIR
process.env.TMPDIR = await createTempDir(t, 'browser')
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']
}).finally(() => {
  if (systemTemp === undefined) delete process.env.TMPDIR
  else process.env.TMPDIR = systemTemp
})
t.teardown(() => browser.close())

const ownerId = id('owner')
const dialogId = id('d')
const png = await upload(PNG, 'picture.png', 'image/png')
await linkToMessage([png.id])
const pngUrl = `${service}${png.url}`

t.test('a linked PNG renders in an <img> with the cookie, and a second load is a 304 from the service', async (t) => {
  const page = await newPage(t, { cookie: token({ sub: ownerId }) })
  t.equal(png.contentType, 'image/png', 'the generated PNG is stored as one')
  files.set('/png.html', { type: 'text/html', body: `<!doctype html><img id="a" src="${pngUrl}">` })

  await page.goto(`${pages}/png.html`)
  t.same(await imageSize(page, '#a'), { width: PNG_WIDTH, height: PNG_HEIGHT }, 'the image is decoded at its real size')
  t.same(servedFor(png.url).map((entry) => entry.status), [200], 'the first load is a 200')

  await page.goto(`${pages}/png.html`)
  t.same(await imageSize(page, '#a'), { width: PNG_WIDTH, height: PNG_HEIGHT }, 'still rendered after the second load')
  const second = servedFor(png.url)
  t.same(second.map((entry) => entry.status), [200, 304], 'the second load was revalidated and the service answered 304')
  t.equal(second[1]?.ifNoneMatch, png.etag, 'with the ETag of the first answer')
})

t.test('a preview renders in an <img>: Chromium asks, gets WebP, decodes it at the preview size', async (t) => {
  const photo = await upload(encodePng(640, 400), 'wide.png', 'image/png')
  await linkToMessage([photo.id])
  const path = `${photo.url}/preview/320`
  const page = await newPage(t, { cookie: token({ sub: ownerId }) })
  const answer = page.waitForResponse((response) => response.url().startsWith(`${service}${path}`))
  files.set('/preview.html', { type: 'text/html', body: `<!doctype html><img id="p" src="${service}${path}">` })
  await page.goto(`${pages}/preview.html`)
  t.same(await imageSize(page, '#p'), { width: 320, height: 200 }, 'rendered, fitted in 320 x 320')
  const response = await answer
  t.equal(response.status(), 200)
  t.equal((await response.allHeaders())['content-type'], 'image/webp', 'Chromium admits WebP')
})

t.test('opened directly, the PNG is displayed despite the sandbox CSP', async (t) => {
  const page = await newPage(t, { cookie: token({ sub: ownerId }) })
  const response = await page.goto(pngUrl)
  t.equal(response?.status(), 200)
  const headers = await response?.allHeaders() ?? {}
  t.match(headers['content-disposition'], /^inline;/)
  t.equal(headers['content-type'], 'image/png')
  t.match(headers['content-security-policy'], /\bsandbox\b/)
  t.same(await imageSize(page, 'img'), { width: PNG_WIDTH, height: PNG_HEIGHT }, 'the image document shows the image')
})

t.test('HTML and SVG attachments never run script: not opened, framed or embedded', async (t) => {
  // A synchronous request: a script that runs has reached the beacon before
  // it ends, so before its document's load event, which every page.goto
  // below waits for (frames, objects and embeds hold up their parent's
  // load). Nothing is left to time: after the load, a hit has happened or
  // never will.
  const script = (via: string) => `var beacon = new XMLHttpRequest(); beacon.open('GET', '${beacon}/hit?via=${via}', false); beacon.send()`
  const html = (via: string) => `<!doctype html><html><body><p>hello</p><script>${script(via)}</script></body></html>`
  const svg = (via: string) => `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="${script(`${via}-onload`).replaceAll('\'', '&apos;')}"><script>${script(`${via}-script`)}</script><rect width="10" height="10"/></svg>`

  // Control: the same documents served as what they are do reach the
  // beacon, so silence below means script did not run, not a broken beacon.
  files.set('/control.html', { type: 'text/html', body: html('control-html') })
  files.set('/control.svg', { type: 'image/svg+xml', body: svg('control-svg') })
  files.set('/control-frame.html', { type: 'text/html', body: `<!doctype html><iframe src="${pages}/control.svg"></iframe>` })
  const control = await newPage(t, {})
  await control.goto(`${pages}/control.html`)
  await control.goto(`${pages}/control-frame.html`)
  t.same([...new Set(hits)].sort(), ['control-html', 'control-svg-onload', 'control-svg-script'], 'the beacon sees script that runs, by the time the page has loaded')

  const htmlFile = await upload(html('attachment-html'), 'page.html', 'text/html')
  const svgFile = await upload(svg('attachment-svg'), 'drawing.svg', 'image/svg+xml')
  t.equal(htmlFile.contentType.split(';')[0], 'text/html', 'stored as HTML')
  t.equal(svgFile.contentType, 'image/svg+xml', 'stored as SVG')
  await linkToMessage([htmlFile.id, svgFile.id])

  const page = await newPage(t, { cookie: token({ sub: ownerId }) })
  const seen = new Map<string, Array<Record<string, string>>>()
  // headers(): what Chromium acts on, after merging a 304 into its cached 200.
  page.context().on('response', (response) => {
    const path = new URL(response.url()).pathname
    seen.set(path, [...(seen.get(path) ?? []), response.headers()])
  })

  for (const file of [htmlFile, svgFile]) {
    const url = `${service}${file.url}`
    // Opened directly it is a download, which Playwright reports by
    // failing the navigation with "Download is starting"; only then is the
    // download event sure to come, and it is waited for without a limit.
    const downloading = page.waitForEvent('download', { predicate: (download) => download.url() === url, timeout: 0 }).catch(() => null)
    const navigation = await page.goto(url).then(() => 'displayed', (err: Error) => err.message)
    t.match(navigation, /Download is starting/, `${file.fileName}: the navigation became a download`)
    const download = /Download is starting/.test(navigation) ? await downloading : null
    t.equal(download?.suggestedFilename(), file.fileName, `${file.fileName}: downloaded under its own name`)
    await download?.cancel()

    files.set(`/embed-${file.id}.html`, {
      type: 'text/html',
      body: `<!doctype html><iframe src="${url}"></iframe><img src="${url}"><object data="${url}"></object><embed src="${url}">`
    })
    await page.goto(`${pages}/embed-${file.id}.html`, { waitUntil: 'load' })
  }
  t.same(hits.filter((via) => !via.startsWith('control-')), [], 'no script of an attachment ever ran')

  for (const file of [htmlFile, svgFile]) {
    const responses = seen.get(file.url) ?? []
    t.ok(responses.length > 0, `${file.fileName}: Chromium received answers`)
    t.ok(servedFor(file.url).some((entry) => entry.status === 200), `${file.fileName}: and the service sent the bytes`)
    for (const headers of responses) {
      t.match(headers['content-disposition'], /^attachment;/, `${file.fileName}: attachment`)
      t.equal(headers['content-type'], 'application/octet-stream', `${file.fileName}: not served as HTML or SVG`)
      t.equal(headers['x-content-type-options'], 'nosniff', `${file.fileName}: nosniff`)
      t.match(headers['content-security-policy'], /\bsandbox\b/, `${file.fileName}: sandboxed`)
    }
  }
})

t.test('a ?token= link token loads the image for its dialog only, and only on a same-site page', async (t) => {
  const page = await newPage(t, {})
  const iat = Math.floor(Date.now() / 1000)
  const forDialog = token({ dlg: dialogId, iat, exp: iat + 300 })
  const forOther = token({ dlg: id('d'), iat, exp: iat + 300 })
  files.set('/link.html', {
    type: 'text/html',
    body: `<!doctype html><img id="ok" src="${pngUrl}?token=${forDialog}"><img id="other" src="${pngUrl}?token=${forOther}">`
  })
  await page.goto(`${pages}/link.html`)
  t.same(await imageSize(page, '#ok'), { width: PNG_WIDTH, height: PNG_HEIGHT }, 'the link token of the dialog shows the image')
  t.same(await imageSize(page, '#other'), { width: 0, height: 0 }, 'a link token of another dialog does not')
  const statuses = (jwt: string) => served.filter((entry) => entry.url === `${png.url}?token=${jwt}`).map((entry) => entry.status)
  t.same(statuses(forDialog), [200], 'the service sent the image')
  t.same(statuses(forOther), [401], 'and refused the token of another dialog')

  // Another site (127.0.0.1): the token is good and the service sends the
  // image, but Chromium withholds it from the page (CORP: same-site).
  const crossSite = token({ dlg: dialogId, iat, exp: iat + 299 })
  const failures: string[] = []
  page.on('requestfailed', (request) => { if (request.url().includes(crossSite)) failures.push(request.failure()?.errorText ?? '') })
  files.set('/cross-site.html', { type: 'text/html', body: `<!doctype html><img id="x" src="${pngUrl}?token=${crossSite}">` })
  await page.goto(`${crossSitePages}/cross-site.html`)
  t.same(await imageSize(page, '#x'), { width: 0, height: 0 }, 'not shown on a page of another site')
  t.same(statuses(crossSite), [200], 'although the service answered')
  t.same(failures, ['net::ERR_BLOCKED_BY_RESPONSE.NotSameSite'], 'blocked by Cross-Origin-Resource-Policy')
})

interface Uploaded { id: string, url: string, etag: string, fileName: string, contentType: string }

async function upload (data: Buffer | string, filename: string, contentType: string): Promise<Uploaded> {
  const form = uploadForm(data, { ownerId, filename, contentType })
  const res = await app.inject({
    method: 'POST',
    url: `/internal/v1/dialogs/${dialogId}/attachments`,
    headers: { ...auth(), 'content-type': form.contentType },
    payload: form.body
  })
  if (res.statusCode !== 201) throw new Error(`upload failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

async function linkToMessage (attachmentIds: string[]): Promise<void> {
  const res = await app.inject({
    method: 'POST',
    url: `/internal/v1/dialogs/${dialogId}/attachments/link`,
    headers: auth(),
    payload: { messageId: id('m'), attachmentIds }
  })
  if (res.statusCode !== 200) throw new Error(`link failed: ${res.statusCode} ${res.body}`)
}

/** A page in a fresh context (own cookies and cache), closed with the test. */
async function newPage (t: Test, { cookie }: { cookie?: string }): Promise<Page> {
  const context: BrowserContext = await browser.newContext({ acceptDownloads: true })
  t.teardown(() => context.close())
  // Host-only for localhost: sent to the service whatever the port.
  if (cookie) await context.addCookies([{ name: 'chat_token', value: cookie, url: service, httpOnly: true, sameSite: 'Lax' }])
  return context.newPage()
}

/** The decoded size of an image once it has loaded or failed (0 x 0). */
async function imageSize (page: Page, selector: string): Promise<{ width: number, height: number }> {
  const image = page.locator(selector)
  await image.evaluate((img: ImageLike) => img.complete || new Promise((resolve) => { img.onload = img.onerror = resolve }))
  return image.evaluate((img: ImageLike) => ({ width: img.naturalWidth, height: img.naturalHeight }))
}

interface ImageLike {
  complete: boolean
  naturalWidth: number
  naturalHeight: number
  onload: unknown
  onerror: unknown
}

/** A loopback HTTP server on a random port, closed when the file ends. */
async function start (listener: RequestListener): Promise<number> {
  const server: Server = createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  const address = server.address()
  if (!address || typeof address === 'string') throw new Error('no address')
  return address.port
}
