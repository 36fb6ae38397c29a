// Benchmark baseline: a Fastify "hello", the cheapest answer Fastify makes,
// on the same core as the service (bench/lib/cores.ts). Plain JavaScript run
// by plain node, like `node dist/server.js`. Prints {"port":N} once listening.
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/', async () => ({ hello: 'world' }))
await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`)
process.once('SIGTERM', () => app.close().then(() => process.exit(0)))
