// Before anything is measured: every process answers what it should for the
// seeded objects (whole bodies by SHA-256, a range, a conditional GET), so a
// figure can never be the speed of an error page.
import { createHash } from 'node:crypto'
import { statusOf } from './api.js'
import type { World } from './world.js'

export interface Conditional {
  /** The service's answer to If-None-Match: <its ETag>, and with Cache-Control: no-cache added (what fetch() sends). */
  service: number
  serviceWithNoCache: number
  /** nginx's answer to If-None-Match: <its own ETag>. */
  origin: number
}

const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

async function expectBody (url: string, headers: Record<string, string>, data: Buffer, label: string, status = 200): Promise<Response> {
  const res = await fetch(url, { headers })
  const body = Buffer.from(await res.arrayBuffer())
  if (res.status !== status || digest(body) !== digest(data)) {
    throw new Error(`${label}: expected ${status} with ${data.length} known bytes, got ${res.status} with ${body.length} bytes`)
  }
  return res
}

export async function verifyAnswers (world: World): Promise<Conditional> {
  const service = await world.service()
  const { small, large } = world.objects
  const range = { range: 'bytes=100-199' }
  const nginxUrl = (key: string) => `${world.nginx.endpoint}/${world.nginx.bucket}/${key}`
  for (const [name, object] of [['20 KiB', small], ['64 MiB', large]] as const) {
    const data = name === '20 KiB' ? world.data.small : world.data.large
    await expectBody(`${service.baseUrl}${object.path}`, world.userAuth, data, `service, ${name}`)
    await expectBody(nginxUrl(object.key), {}, data, `nginx, ${name}`)
    await expectBody(`${world.proxy.baseUrl}/${object.key}`, {}, data, `naive SDK proxy, ${name}`)
  }
  await expectBody(`${service.baseUrl}${small.path}`, { ...world.userAuth, ...range }, world.data.small.subarray(100, 200), 'service, range', 206)
  const fromNginx = await expectBody(nginxUrl(small.key), range, world.data.small.subarray(100, 200), 'nginx, range', 206)
  const nginxEtag = fromNginx.headers.get('etag') ?? ''
  const hello = await statusOf(`${world.hello.baseUrl}/`, {})
  if (hello !== 200) throw new Error(`the Fastify hello answered ${hello}`)

  const conditional = {
    service: await statusOf(`${service.baseUrl}${small.path}`, { ...world.userAuth, 'if-none-match': small.etag }),
    serviceWithNoCache: await statusOf(`${service.baseUrl}${small.path}`, { ...world.userAuth, 'if-none-match': small.etag, 'cache-control': 'no-cache' }),
    origin: await statusOf(nginxUrl(small.key), { 'if-none-match': nginxEtag })
  }
  if (conditional.service !== 304) throw new Error(`the service answered ${conditional.service} to If-None-Match with its own ETag`)
  if (conditional.origin !== 304) throw new Error(`nginx answered ${conditional.origin} to If-None-Match with its own ETag ${nginxEtag}`)
  if (small.contentType !== 'image/png') world.problems.push(`the service stored the 20 KiB PNG as ${small.contentType}, not image/png: it is not served as an image`)
  if (conditional.serviceWithNoCache !== 304) {
    world.problems.push(`service: If-None-Match with the current ETag plus Cache-Control: no-cache (what fetch() sends) answers ${conditional.serviceWithNoCache}; ` +
      'RFC 9110 §13.2.2 does not look at Cache-Control')
  }
  return conditional
}
