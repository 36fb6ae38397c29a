// An HTTP proxy between the service and the test S3 server. It counts the
// requests S3 receives (to prove "no S3 call") and can misbehave on demand:
// hang without answering, cut a response off mid-body, answer slowly, or
// refuse to delete chosen keys in a DeleteObjects request (the other keys
// are deleted for real, and the answer reports the chosen ones as
// AccessDenied, exactly as S3 reports a partial failure), or hold chosen
// requests until the test lets them through.
import { createServer, request, type IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export type ProxyMode = 'pass' | 'hang' | 'cut'

export interface S3Proxy {
  readonly endpoint: string
  /** Every request seen: method, URL and Range header. */
  readonly seen: Array<{ method: string, url: string, range?: string }>
  mode: ProxyMode
  /** In 'cut' mode, bytes of a response body sent before the connection is cut. */
  cutAfterBytes: number
  /** Added before every request is forwarded. */
  delayMs: number
  /** Keys that DeleteObjects refuses to delete. */
  readonly failKeys: Set<string>
  /**
   * Holds every request that matches until release() (or close()); `reached`
   * resolves when the first one has arrived. The caller is paused exactly
   * there, whatever the machine's speed.
   */
  hold (matches: (request: { method: string, url: string }) => boolean): Hold
  /** Requests for object bytes (GET on a key), the ones that cost. */
  objectGets (): number
  reset (): void
  close (): Promise<void>
}

export interface Hold {
  reached: Promise<void>
  release (): void
}

/** DeleteObjects (POST /bucket?delete). */
export const isDeleteObjects = (request: { method: string, url: string }) => request.method === 'POST' && /^\/[^/?]+\/?\?delete/.test(request.url)

export async function startS3Proxy (target: () => string): Promise<S3Proxy> {
  const sockets = new Set<Socket>()
  const holds = new Set<{ matches: (request: { method: string, url: string }) => boolean, arrived: () => void, released: Promise<void>, release: () => void }>()
  const state: S3Proxy = {
    seen: [],
    mode: 'pass',
    cutAfterBytes: 64 * 1024,
    delayMs: 0,
    failKeys: new Set(),
    endpoint: '',
    objectGets: () => state.seen.filter((r) => r.method === 'GET' && /^\/[^/?]+\/[^?]+/.test(r.url)).length,
    reset: () => { state.seen.length = 0 },
    hold (matches) {
      let arrived!: () => void
      const reached = new Promise<void>((resolve) => { arrived = resolve })
      let release!: () => void
      const released = new Promise<void>((resolve) => { release = resolve })
      const hold = { matches, arrived, released, release: () => { holds.delete(hold); release() } }
      holds.add(hold)
      return { reached, release: hold.release }
    },
    close: async () => {
      for (const hold of holds) hold.release()
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }

  const server = createServer(async (req, res) => {
    state.seen.push({ method: req.method ?? '', url: req.url ?? '', ...(req.headers.range ? { range: req.headers.range } : {}) })
    if (state.mode === 'hang') return
    const incoming = { method: req.method ?? '', url: req.url ?? '' }
    for (const hold of holds) {
      if (!hold.matches(incoming)) continue
      hold.arrived()
      await hold.released
    }
    if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs))
    if (isDeleteObjects(incoming) && state.failKeys.size > 0) {
      await partialDelete(req, res)
      return
    }
    const mode = state.mode
    const upstream = request(`${target()}${req.url}`, { method: req.method, headers: req.headers }, (answer: IncomingMessage) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      if (mode !== 'cut') {
        answer.pipe(res)
        return
      }
      let sent = 0
      answer.on('data', (chunk: Buffer) => {
        if (sent + chunk.length >= state.cutAfterBytes) {
          res.write(chunk.subarray(0, state.cutAfterBytes - sent))
          answer.destroy()
          res.socket?.destroy()
          return
        }
        sent += chunk.length
        res.write(chunk)
      })
      answer.on('end', () => res.end())
    })
    upstream.on('error', () => res.socket?.destroy())
    req.pipe(upstream)
  })
  /** DeleteObjects with the keys in failKeys refused; the rest deleted one by one. */
  async function partialDelete (req: IncomingMessage, res: import('node:http').ServerResponse) {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const keys = [...Buffer.concat(chunks).toString().matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => unescapeXml(m[1]!))
    const bucket = (req.url ?? '').split('/')[1]!.split('?')[0]!
    const parts: string[] = []
    for (const key of keys) {
      if (state.failKeys.has(key)) {
        parts.push(`<Error><Key>${escapeXml(key)}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
        continue
      }
      await new Promise<void>((resolve, reject) => {
        const del = request(`${target()}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`, { method: 'DELETE' }, (answer) => { answer.resume(); answer.on('end', resolve) })
        del.on('error', reject)
        del.end()
      })
      parts.push(`<Deleted><Key>${escapeXml(key)}</Key></Deleted>`)
    }
    res.writeHead(200, { 'content-type': 'application/xml' })
    res.end(`<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join('')}</DeleteResult>`)
  }

  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  Object.defineProperty(state, 'endpoint', { value: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
  return state
}

const XML_ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" }
const unescapeXml = (text: string) => text.replace(/&(amp|lt|gt|quot|apos);/g, (entity) => XML_ENTITIES[entity]!)
const escapeXml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
