// A local S3-protocol server (s3rver) for development (`npm run dev`) and
// the tests, run as a child process so a test can stop it (S3 down) and start
// it again on the same port and data. Never used in production.
//
// s3rver lacks two operations the service relies on; they are added here,
// faithful to the S3 API, over s3rver's own on-disk layout:
// - AbortMultipartUpload (DELETE /bucket/key?uploadId=...), 405 in s3rver;
// - ListMultipartUploads (GET /bucket?uploads), NotImplemented in s3rver,
//   so tests can prove that no unfinished upload is left behind.
// And one range bug is fixed: s3rver reads a last-byte-pos of 0 as "to the
// end", so `bytes=0-0` returned the whole object.
//
// argv: <directory> <port> <bucket> [--exit-with-parent]; port 0 picks a
// free one. Prints {"port":N} once listening. With --exit-with-parent it also
// stops when stdin closes, that is when the process that started it is gone.
import { createReadStream } from 'node:fs'
import { readdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import S3rver from 's3rver'

const [directory, port, bucket, ...flags] = process.argv.slice(2)
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory,
  silent: true,
  configureBuckets: [{ name: bucket }]
})

const getObject = server.store.getObject.bind(server.store)
server.store.getObject = async (bucket, key, options) => {
  if (options?.end !== 0) return getObject(bucket, key, options)
  const object = await getObject(bucket, key, { start: 0 })
  if (!object?.content) return object
  object.content.destroy()
  object.content = createReadStream(server.store.getResourcePath(bucket, key, 'object'), { start: 0, end: 0 })
  object.range = { start: 0, end: 0 }
  return object
}

const uploadsDir = (name) => join(directory, name, '._S3rver_uploads')
const xml = (body) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`
const escape = (text) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)

server.middleware.unshift(async (ctx, next) => {
  // Path-style requests: /bucket or /bucket/ for the bucket, /bucket/key for an object.
  const [, name, ...rest] = ctx.path.split('/')
  const keyParts = rest.filter((segment) => segment !== '')
  if (ctx.method === 'DELETE' && ctx.query.uploadId !== undefined && keyParts.length > 0) {
    const dir = join(uploadsDir(name), String(ctx.query.uploadId))
    if (!(await stat(dir).catch(() => null))) {
      ctx.status = 404
      ctx.type = 'application/xml'
      ctx.body = xml('<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>')
      return
    }
    await rm(dir, { recursive: true, force: true })
    ctx.status = 204
    return
  }
  if (ctx.method === 'GET' && keyParts.length === 0 && ctx.query.uploads !== undefined) {
    const ids = await readdir(uploadsDir(name)).catch(() => [])
    const uploads = []
    for (const id of ids) {
      const key = await readFile(join(uploadsDir(name), id, 'key'), 'utf8').catch(() => null)
      const info = await stat(join(uploadsDir(name), id)).catch(() => null)
      if (key !== null && info) uploads.push(`<Upload><Key>${escape(key)}</Key><UploadId>${id}</UploadId><Initiated>${info.birthtime.toISOString()}</Initiated></Upload>`)
    }
    ctx.type = 'application/xml'
    ctx.body = xml(`<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${escape(name)}</Bucket><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`)
    return
  }
  return next()
})

const address = await server.run()
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`)
// close() waits for open keep-alive connections; give them a moment, no more.
const stop = () => {
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 2_000).unref()
}
process.on('SIGTERM', stop)
if (flags.includes('--exit-with-parent')) process.stdin.on('data', () => {}).on('close', stop)
