// Benchmark baseline: a direct lib-storage upload of a file to the S3 server,
// with lib-storage's defaults, run on the service's core. One JSON command per
// stdin line, one JSON answer per stdout line:
//   {"op":"upload","key":K,"file":F} -> {"ms":N}   (the upload alone, timed here)
//   {"op":"delete","key":K}          -> {}
// Environment: S3_ENDPOINT, S3_BUCKET, S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY.
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'

const env = process.env
const client = new S3Client({
  region: env.S3_REGION,
  endpoint: env.S3_ENDPOINT,
  forcePathStyle: true,
  credentials: { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED'
})
const Bucket = env.S3_BUCKET

process.stdout.write('{"ready":true}\n')
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line)
  try {
    if (command.op === 'upload') {
      const started = performance.now()
      await new Upload({ client, params: { Bucket, Key: command.key, Body: createReadStream(command.file) } }).done()
      process.stdout.write(`${JSON.stringify({ ms: performance.now() - started })}\n`)
    } else if (command.op === 'delete') {
      await client.send(new DeleteObjectCommand({ Bucket, Key: command.key }))
      process.stdout.write('{}\n')
    }
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ error: `${err.name}: ${err.message}` })}\n`)
  }
}
client.destroy()
