// Builds multipart/form-data bodies byte by byte, so tests control exactly
// what arrives: part order, raw (hostile) file names, missing headers.
import { randomBytes } from 'node:crypto'

export type Part =
  | { name: string, value: string }
  | { name: string, filename: string, contentType?: string, data: Buffer | string }

export interface MultipartBody {
  body: Buffer
  contentType: string
}

export function multipart (parts: Part[]): MultipartBody {
  const boundary = `----test${randomBytes(8).toString('hex')}`
  const chunks: Buffer[] = []
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n`))
    if ('filename' in part) {
      chunks.push(Buffer.from(`Content-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\n`, 'utf8'))
      if (part.contentType) chunks.push(Buffer.from(`Content-Type: ${part.contentType}\r\n`))
      chunks.push(Buffer.from('\r\n'), Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data), Buffer.from('\r\n'))
    } else {
      chunks.push(Buffer.from(`Content-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`))
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}

/** The usual upload form: ownerId, then one file. */
export function uploadForm (data: Buffer | string, options: { ownerId?: string, filename?: string, contentType?: string } = {}): MultipartBody {
  return multipart([
    ...(options.ownerId === undefined ? [] : [{ name: 'ownerId', value: options.ownerId }]),
    { name: 'file', filename: options.filename ?? 'file.bin', contentType: options.contentType ?? 'application/octet-stream', data }
  ])
}

/** A minimal valid PNG (1x1 pixel). */
export const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64'
)
