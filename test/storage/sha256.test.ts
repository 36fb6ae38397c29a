// The SigV4 signer's SHA-256 and HMAC (src/storage/sha256.ts) against
// node:crypto: the remembered HMACs of a string key over a short message must
// be exactly what node:crypto computes, for every key and message, however
// often and in whichever order they are asked for.
import { createHash, createHmac } from 'node:crypto'
import t from 'tap'
import { Sha256 } from '../../src/storage/sha256.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

async function sdkHmac (key: string | Uint8Array, ...parts: Array<string | Uint8Array>): Promise<string> {
  const hash = new Sha256(key)
  for (const part of parts) hash.update(part)
  return hex(await hash.digest())
}

const expected = (key: string | Uint8Array, ...parts: Array<string | Uint8Array>) => {
  const mac = createHmac('sha256', key)
  for (const part of parts) mac.update(part)
  return mac.digest('hex')
}

t.test('string-keyed HMACs of short messages, asked for again and again, equal node:crypto\'s', async (t) => {
  const keys = ['secret-a', 'secret-b', 'AWS4secret-a', 'secret-a\0x']
  const messages = ['AKIDEXAMPLE', '20261130', 'us-east-1', 's3', 'aws4_request', '', 'x'.repeat(64)]
  // More pairs than are remembered at once (64), twice over: remembered,
  // forgotten and computed again.
  for (let round = 0; round < 3; round++) {
    for (const key of keys) {
      for (const message of messages) {
        for (let n = 0; n < 3; n++) {
          const text = `${message}${n === 0 ? '' : n}`
          t.equal(await sdkHmac(key, text), expected(key, text))
          t.equal(await sdkHmac(key, Buffer.from(text)), expected(key, text), 'the same message as bytes')
        }
      }
    }
  }
})

t.test('a string message and the same characters as other bytes are not confused', async (t) => {
  const latin1 = Buffer.from('caf\u00e9', 'latin1')
  t.equal(await sdkHmac('k', 'café'), expected('k', 'café'))
  t.equal(await sdkHmac('k', latin1), expected('k', latin1))
  t.not(await sdkHmac('k', 'café'), await sdkHmac('k', latin1))
})

t.test('long messages, several updates, byte keys and plain SHA-256 are computed as usual', async (t) => {
  const long = 'AWS4-HMAC-SHA256\n20261130T000000Z\n20261130/us-east-1/s3/aws4_request\n' + 'f'.repeat(64)
  t.equal(await sdkHmac('secret', long), expected('secret', long))
  t.equal(await sdkHmac('secret', 'AKID', 'EXAMPLE'), expected('secret', 'AKID', 'EXAMPLE'), 'two updates')
  const byteKey = createHmac('sha256', 'x').update('y').digest()
  t.equal(await sdkHmac(byteKey, 'short'), expected(byteKey, 'short'))
  const plain = new Sha256()
  plain.update('abc')
  t.equal(hex(await plain.digest()), createHash('sha256').update('abc').digest('hex'))
})

t.test('a digest handed out is the caller\'s own: changing it changes nothing remembered', async (t) => {
  const hash = new Sha256('key')
  hash.update('msg')
  const mac = await hash.digest()
  mac.fill(0)
  t.equal(await sdkHmac('key', 'msg'), expected('key', 'msg'))
})

t.test('reset starts over', async (t) => {
  const hash = new Sha256('key')
  hash.update('one')
  hash.reset()
  hash.update('two')
  t.equal(hex(await hash.digest()), expected('key', 'two'))
})
