// `npm run lint:openapi`: lints the service's OpenAPI document (redocly.yaml).
// `npm run client:types`: writes the client's types from it.
// `npm run client:types -- --check`: fails when the committed types differ.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openapiDocument } from './openapi/document.js'
import { lintDocument } from './openapi/lint.js'
import { clientTypes, TYPES_FILE } from './openapi/types.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const [command, flag] = process.argv.slice(2)

const document = await openapiDocument()
if (command === 'lint') {
  const dir = await mkdtemp(join(tmpdir(), 'openapi-lint-'))
  try {
    const result = await lintDocument(document, { dir, format: 'stylish' })
    process.stdout.write(result.output)
    process.exitCode = result.code === 0 ? 0 : 1
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
} else if (command === 'types') {
  const path = join(ROOT, TYPES_FILE)
  const fresh = await clientTypes(document)
  if (flag === '--check') {
    const committed = await readFile(path, 'utf8').catch(() => '')
    if (committed !== fresh) {
      process.stderr.write(`${TYPES_FILE} differs from the OpenAPI document: run npm run client:types\n`)
      process.exitCode = 1
    }
  } else {
    await writeFile(path, fresh)
    process.stdout.write(`wrote ${TYPES_FILE}\n`)
  }
} else {
  process.stderr.write('Usage: node --import tsx scripts/openapi.ts lint | types [--check]\n')
  process.exitCode = 2
}
