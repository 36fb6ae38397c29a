// The client's types are generated from the OpenAPI document: when a route
// schema changes and `npm run client:types` was not run, this fails.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { openapiDocument } from '../../scripts/openapi/document.js'
import { clientTypes, TYPES_FILE } from '../../scripts/openapi/types.js'

t.setTimeout(180_000)

t.test('src/client/openapi-types.ts is what the document generates today', async (t) => {
  const fresh = await clientTypes(await openapiDocument())
  const committed = await readFile(fileURLToPath(new URL(`../../${TYPES_FILE}`, import.meta.url)), 'utf8')
  t.ok(committed === fresh, `${TYPES_FILE} matches the document (run npm run client:types when it does not)`)
})
