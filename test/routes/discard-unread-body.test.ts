// After an early answer, the unread rest of a request is drained up to a
// bound, so the client reads the answer and the connection stays usable;
// past the bound the connection is closed instead of reading for ever.
import { Agent, createServer, request } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import t from 'tap'
import { discardUnreadBody } from '../../src/routes/discard-unread-body.js'

const connections: Socket[] = []
const server = createServer((req, res) => {
  // Answer before reading anything, as a refused upload does.
  res.writeHead(413, { 'content-type': 'text/plain' })
  res.end('too large')
  discardUnreadBody(req)
})
server.on('connection', (socket) => connections.push(socket))
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
const port = (server.address() as AddressInfo).port

function post (agent: Agent, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let status = 0
    const req = request({ port, host: '127.0.0.1', method: 'POST', agent, headers: { 'content-length': String(size) } }, (res) => {
      status = res.statusCode ?? 0
      res.resume()
      res.on('end', () => resolve(status))
    })
    // Past the bound the server closes while the client still writes.
    req.on('error', (err) => (status ? resolve(status) : reject(err)))
    req.end(Buffer.alloc(size))
  })
}

t.test('a small unread body is drained and the connection serves the next request', async (t) => {
  connections.length = 0
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  t.equal(await post(agent, 100 * 1024), 413)
  t.equal(await post(agent, 10), 413)
  t.equal(connections.length, 1, 'both requests on one connection')
})

t.test('a body far past the bound: the client still gets the answer, then the connection is closed', async (t) => {
  connections.length = 0
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  t.equal(await post(agent, 16 * 1024 * 1024), 413)
  await new Promise((resolve) => (connections[0]!.destroyed ? resolve(null) : connections[0]!.once('close', resolve)))
  t.ok(connections[0]!.destroyed, 'the server closed the connection')
  t.ok(connections[0]!.bytesRead < 8 * 1024 * 1024, `it stopped reading early (${connections[0]!.bytesRead} bytes read)`)
})
