// An HTTP front for the test S3 server that checks every request's SigV4
// signature (Authorization header form) the way S3 does, with its own
// implementation (node:crypto, no SDK code), and answers 403
// SignatureDoesNotMatch when it is wrong. s3rver itself does not check V4
// signatures, so without this front a signing bug would pass every test.
//
// Like S3, it decodes the received path and query and encodes them again
// with the strict UriEncode of the SigV4 spec: a client that sends "!" or a
// space unescaped, or signs a path other than the one it sends, is refused.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, request, type IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface SigV4Front {
  readonly endpoint: string
  /** Requests refused, with the reason. */
  readonly refused: string[]
  /** Requests let through, method and raw URL. */
  readonly passed: Array<{ method: string, url: string }>
  close (): Promise<void>
}

const uriEncode = (text: string) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest()

/** Why the request's signature is wrong, or undefined when it is right. */
export function signatureProblem (req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>, secrets: ReadonlyMap<string, string>, now = Date.now()): string | undefined {
  const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(req.headers.authorization ?? '')
  if (!auth) return 'no SigV4 Authorization header'
  const [, accessKey = '', day = '', region = '', service = '', signedList = '', signature = ''] = auth
  const secret = secrets.get(accessKey)
  if (secret === undefined) return `unknown access key ${accessKey}`
  const amzDate = String(req.headers['x-amz-date'] ?? '')
  const when = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate)
  if (!when || !amzDate.startsWith(day)) return `bad x-amz-date ${amzDate}`
  if (Math.abs(Date.UTC(+when[1]!, +when[2]! - 1, +when[3]!, +when[4]!, +when[5]!, +when[6]!) - now) > 15 * 60_000) return 'x-amz-date too far from now'
  const signed = signedList.split(';')
  for (const required of ['host', 'x-amz-content-sha256', 'x-amz-date']) {
    if (!signed.includes(required)) return `${required} is not signed`
  }
  const [rawPath = '', rawQuery] = (req.url ?? '').split('?', 2)
  let path: string
  let query: string
  try {
    path = rawPath.split('/').map((segment) => uriEncode(decodeURIComponent(segment))).join('/')
    query = (rawQuery ?? '').split('&').filter(Boolean)
      .map((pair) => pair.split('=', 2).map((part) => uriEncode(decodeURIComponent(part.replace(/\+/g, ' ')))))
      .sort(([a = '', x = ''], [b = '', y = '']) => a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0)
      .map(([name, value = '']) => `${name}=${value}`).join('&')
  } catch {
    return 'undecodable URL'
  }
  const headers = signed.map((name) => {
    const value = req.headers[name]
    return `${name}:${(Array.isArray(value) ? value.join(',') : value ?? '').trim().replace(/\s+/g, ' ')}\n`
  }).join('')
  const canonical = [req.method, path, query, headers, signedList, String(req.headers['x-amz-content-sha256'])].join('\n')
  const scope = `${day}/${region}/${service}/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical, 'utf8').digest('hex')].join('\n')
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request')
  const expected = hmac(key, toSign)
  return timingSafeEqual(expected, Buffer.from(signature, 'hex')) ? undefined : `signature mismatch; canonical request:\n${canonical}`
}

/** Starts the front on a free loopback port, forwarding to target() (read at each request, so it survives a restart). */
export async function startSigV4Front (target: () => string, secrets: ReadonlyMap<string, string>): Promise<SigV4Front> {
  const sockets = new Set<Socket>()
  const refused: string[] = []
  const passed: Array<{ method: string, url: string }> = []
  const server = createServer((req, res) => {
    const problem = signatureProblem(req, secrets)
    if (problem) {
      refused.push(problem)
      req.resume()
      res.writeHead(403, { 'content-type': 'application/xml' })
      res.end(req.method === 'HEAD' ? undefined : '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error>')
      return
    }
    passed.push({ method: req.method ?? '', url: req.url ?? '' })
    const upstream = request(`${target()}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
      res.on('close', () => answer.destroy())
    })
    upstream.on('error', () => res.socket?.destroy())
    req.pipe(upstream)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refused,
    passed,
    async close () {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
