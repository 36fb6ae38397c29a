// The client's types (src/client/openapi-types.ts) are generated from the
// service's own OpenAPI document with openapi-typescript: the document is
// the one contract, and a test fails when the committed file drifts.
import openapiTS, { astToString } from 'openapi-typescript'

export const TYPES_FILE = 'src/client/openapi-types.ts'

const HEADER = `// Generated from the service's OpenAPI document by \`npm run client:types\`
// (openapi-typescript). Do not edit: test/openapi/client-types.test.ts fails
// when this file and the document differ.
`

export async function clientTypes (document: Record<string, unknown>): Promise<string> {
  const ast = await openapiTS(document as unknown as Parameters<typeof openapiTS>[0], { alphabetize: true, exportType: true })
  return HEADER + '\n' + astToString(ast)
}
