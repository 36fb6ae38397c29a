// The OpenAPI document is one a generator can use: Redocly's linter
// (redocly.yaml) finds no problem in it, every operation is named, shared
// schemas are referenced rather than copied, the upload has its multipart
// body, and the routes without a token say so.
import t from 'tap'
import { openapiDocument } from '../../scripts/openapi/document.js'
import { lintDocument } from '../../scripts/openapi/lint.js'
import { createTempDir } from '../support/leftovers.js'
import { diesWithParent } from '../support/process.js'

t.setTimeout(300_000)

interface Operation {
  operationId?: string
  security?: unknown[]
  requestBody?: { required?: boolean, content: Record<string, { schema: { $ref?: string } }> }
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>
}
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head']

const document = await openapiDocument() as {
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown>, securitySchemes: Record<string, unknown> }
  security: unknown[]
}
const operations = Object.entries(document.paths).flatMap(([path, item]) =>
  Object.entries(item).filter(([method]) => METHODS.includes(method)).map(([method, operation]) => ({ path, method, operation })))
const find = (operationId: string) => operations.find((entry) => entry.operation.operationId === operationId)?.operation

t.test('Redocly lint: no errors and no warnings', async (t) => {
  const dir = await createTempDir(t, 'openapi')
  const result = await lintDocument(document, { dir, wrap: diesWithParent })
  t.equal(result.errors, 0, 'no errors')
  t.equal(result.warnings, 0, 'no warnings')
  if (result.errors + result.warnings > 0) t.comment(result.output)
})

t.test('every operation has a unique operationId', async (t) => {
  const ids = operations.map(({ operation }) => operation.operationId)
  t.ok(ids.every(Boolean), 'all named')
  t.equal(new Set(ids).size, ids.length, 'no two alike')
  t.same(ids.sort(), [
    'deleteAttachment', 'deleteDialogAttachments', 'downloadAttachment', 'downloadPreview', 'getAccessLog', 'getAttachment', 'getLiveness',
    'getReadiness', 'linkAttachments', 'listMessageAttachments', 'revokeTokens', 'uploadStage'
  ])
})

t.test('the upload has a multipart/form-data body made of the shared form schema', async (t) => {
  const body = find('uploadStage')!.requestBody!
  t.same(Object.keys(body.content), ['multipart/form-data'])
  t.equal(body.content['multipart/form-data']!.schema.$ref, '#/components/schemas/UploadForm')
  t.match(document.components.schemas.UploadForm, { properties: { file: { type: 'string' }, ownerId: {} }, required: ['file'] })
})

t.test('shared schemas are components, referenced by the operations', async (t) => {
  for (const name of ['Attachment', 'Error', 'LinkRequest', 'MessageAttachments', 'UploadForm', 'Readiness']) t.ok(document.components.schemas[name], name)
  t.equal(find('getAttachment')!.responses['200']!.content!['application/json']!.schema.$ref, '#/components/schemas/Attachment')
  t.equal(find('linkAttachments')!.requestBody!.content['application/json']!.schema.$ref, '#/components/schemas/LinkRequest')
  t.notMatch(JSON.stringify(document), /def-\d/, 'no anonymous def-N components')
})

t.test('every error answer of the API is the shared Error schema, and each API operation documents its 4xx', async (t) => {
  for (const { path, method, operation } of operations) {
    const errors = Object.entries(operation.responses).filter(([status]) => Number(status) >= 400 && path !== '/health/ready')
    for (const [status, response] of errors) {
      t.equal(response.content?.['application/json']?.schema.$ref, '#/components/schemas/Error', `${method} ${path} ${status}`)
    }
    if (!path.startsWith('/health/')) t.ok(errors.some(([status]) => status.startsWith('4')), `${method} ${path} has a 4xx`)
  }
})

t.test('security: the service token by default, none for probes, user or link tokens for downloads', async (t) => {
  t.same(document.security, [{ serviceToken: [] }])
  t.same(find('getLiveness')!.security, [], 'liveness needs no token')
  t.same(find('getReadiness')!.security, [], 'readiness needs no token')
  t.same(find('downloadAttachment')!.security, [{ userToken: [] }, { userCookie: [] }, { linkToken: [] }])
  t.equal(find('uploadStage')!.security, undefined, 'the internal API inherits the service token')
  t.match(document.components.securitySchemes, { userCookie: { in: 'cookie', name: 'chat_token' }, linkToken: { in: 'query', name: 'token' } })
})
