// An HTTP proxy between the service and the test S3 server. It counts the
// requests S3 receives (to prove "no S3 call") and can misbehave on demand:
// hang without answering, or cut a response off mid-body.
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
  /** Requests for object bytes (GET on a key), the ones that cost. */
  objectGets (): number
  reset (): void
  close (): Promise<void>
}

export async function startS3Proxy (target: () => string): Promise<S3Proxy> {
  const sockets = new Set<Socket>()
  const state: S3Proxy = {
    seen: [],
    mode: 'pass',
    cutAfterBytes: 64 * 1024,
    endpoint: '',
    objectGets: () => state.seen.filter((r) => r.method === 'GET' && /^\/[^/?]+\/[^?]+/.test(r.url)).length,
    reset: () => { state.seen.length = 0 },
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }

  const server = createServer((req, res) => {
    state.seen.push({ method: req.method ?? '', url: req.url ?? '', ...(req.headers.range ? { range: req.headers.range } : {}) })
    if (state.mode === 'hang') return
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
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  Object.defineProperty(state, 'endpoint', { value: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
  return state
}
