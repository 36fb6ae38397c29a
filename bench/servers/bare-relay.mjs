// Benchmark reference: the least a Node.js process can do to relay an object
// from the origin to a client. GET /<key> is a GET of <ORIGIN_PREFIX>/<key>
// on a keep-alive node:http pool, answered with the origin's status, length
// and type and the body piped through: no framework, no token, no row, no
// signature (the bench's origin, nginx, ignores them), no timeouts. It is
// not a goal's baseline; it shows how much of a figure Node.js itself costs
// on this machine. Environment: ORIGIN_PREFIX (e.g. http://127.0.0.1:8080/bucket).
// Prints {"port":N} once listening.
import { Agent, createServer, request } from 'node:http'

const prefix = new URL(process.env.ORIGIN_PREFIX)
const agent = new Agent({ keepAlive: true, scheduling: 'lifo' })
const server = createServer((req, res) => {
  const upstream = request({ agent, hostname: prefix.hostname, port: prefix.port, path: `${prefix.pathname}${req.url}`, highWaterMark: 64 * 1024 }, (origin) => {
    res.writeHead(origin.statusCode, { 'content-length': origin.headers['content-length'], 'content-type': origin.headers['content-type'] ?? 'application/octet-stream' })
    origin.pipe(res)
    res.once('close', () => { if (!origin.complete) origin.destroy() })
  })
  // A failure before the answer is a 502; after it, the body is cut, never passed off as whole.
  upstream.once('error', () => {
    if (res.headersSent) res.destroy()
    else res.writeHead(502).end()
  })
  upstream.end()
})
server.keepAliveTimeout = 72_000
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`))
process.once('SIGTERM', () => { server.close(); agent.destroy(); process.exit(0) })
