// Benchmark baseline: the naive SDK proxy. GET /<key> is GetObject of <key>
// and reply.send(Body), nothing else: no token, no row, no headers of its
// own, the SDK's default request handler. The client is configured only as
// an S3-compatible server needs (endpoint, path style, the checksum mode the
// service uses by default). Environment: S3_ENDPOINT, S3_BUCKET, S3_REGION,
// S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY. Prints {"port":N} once listening.
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import Fastify from 'fastify'

const env = process.env
const client = new S3Client({
  region: env.S3_REGION,
  endpoint: env.S3_ENDPOINT,
  forcePathStyle: true,
  credentials: { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED'
})

const app = Fastify({ logger: false })
app.get('/*', async (request, reply) => {
  const { Body } = await client.send(new GetObjectCommand({ Bucket: env.S3_BUCKET, Key: request.params['*'] }))
  return reply.send(Body)
})
await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`)
process.once('SIGTERM', () => app.close().then(() => { client.destroy(); process.exit(0) }))
