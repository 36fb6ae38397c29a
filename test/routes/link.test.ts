import { randomUUID } from 'node:crypto'
import t from 'tap'
import { auth, build, id, setup } from '../helper.js'
import { uploadForm } from '../support/multipart.js'

const ctx = await setup(t)
// Some cases stage 50 files at once: more than the default upload slots.
const { app } = await build(t, ctx, { UPLOAD_MAX_CONCURRENT: '64' })

async function stage (dialogId: string, content = 'x'): Promise<string> {
  const form = uploadForm(content, { ownerId: 'owner', filename: 'f.txt' })
  const res = await app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments`, headers: { ...auth(), 'content-type': form.contentType }, payload: form.body })
  if (res.statusCode !== 201) throw new Error(res.body)
  return res.json().id as string
}

function link (dialogId: string, body: unknown) {
  return app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments/link`, headers: auth(), payload: body as object })
}

async function states (ids: string[]) {
  const rows = await ctx.sql<Array<{ id: string, status: string, message_id: string | null, linked_at: Date | null }>>`
    SELECT id, status, message_id, linked_at FROM chat_attachment WHERE id = ANY(${ids}::uuid[]) ORDER BY id`
  return Object.fromEntries(rows.map((row) => [row.id, { status: row.status, messageId: row.message_id, linkedAt: row.linked_at?.toISOString() ?? null }]))
}

t.test('links staged files to a message, in request order, and relinking is idempotent', async (t) => {
  const dialogId = id('d')
  const [a, b] = [await stage(dialogId), await stage(dialogId)]
  const res = await link(dialogId, { messageId: 'm-1', attachmentIds: [b, a] })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.messageId, 'm-1')
  t.same(body.attachments.map((item: { id: string }) => item.id), [b, a])
  for (const item of body.attachments) {
    t.match(item, { status: 'LINKED', messageId: 'm-1', dialogId })
    t.ok(Date.parse(item.linkedAt) > 0, 'linkedAt set')
  }
  const before = await states([a, b])

  const again = await link(dialogId, { messageId: 'm-1', attachmentIds: [a, b, a] })
  t.equal(again.statusCode, 200, 'linking again to the same message is fine')
  t.same(again.json().attachments.map((item: { id: string }) => item.id), [a, b], 'duplicates collapse')
  t.same(await states([a, b]), before, 'nothing changed, linkedAt kept')

  const listed = await app.inject({ method: 'GET', url: `/internal/v1/dialogs/${dialogId}/attachments?messageId=m-1`, headers: auth() })
  t.same(listed.json().attachments.map((item: { id: string }) => item.id).sort(), [a, b].sort())
})

t.test('an id linked to another message: 409, and nothing changes', async (t) => {
  const dialogId = id('d')
  const [a, b] = [await stage(dialogId), await stage(dialogId)]
  t.equal((await link(dialogId, { messageId: 'm-1', attachmentIds: [a] })).statusCode, 200)
  const before = await states([a, b])
  const res = await link(dialogId, { messageId: 'm-2', attachmentIds: [b, a] })
  t.equal(res.statusCode, 409)
  t.match(res.json(), { statusCode: 409, code: 'ATT_LINK_CONFLICT', error: 'Conflict' })
  t.match(res.json().message, a)
  t.same(await states([a, b]), before, 'b is still staged: all or nothing')
})

t.test('an unknown id, or one of another dialog: 404, and nothing changes', async (t) => {
  const dialogId = id('d')
  const otherDialog = id('d')
  const [a, foreign] = [await stage(dialogId), await stage(otherDialog)]
  for (const missing of [randomUUID(), foreign]) {
    const res = await link(dialogId, { messageId: 'm-1', attachmentIds: [a, missing] })
    t.equal(res.statusCode, 404)
    t.match(res.json(), { code: 'ATT_NOT_FOUND' })
    t.same(await states([a, foreign]), {
      [a]: { status: 'UPLOADED', messageId: null, linkedAt: null },
      [foreign]: { status: 'UPLOADED', messageId: null, linkedAt: null }
    })
  }
})

t.test('a link that fails half-way through a batch changes nothing', async (t) => {
  const dialogId = id('d')
  const staged = [await stage(dialogId), await stage(dialogId), await stage(dialogId)]
  const taken = await stage(dialogId)
  t.equal((await link(dialogId, { messageId: 'm-other', attachmentIds: [taken] })).statusCode, 200)
  // Sorted ids are locked and checked in order; put the conflict in the middle.
  const batch = [...staged, taken].sort()
  const res = await link(dialogId, { messageId: 'm-new', attachmentIds: batch })
  t.equal(res.statusCode, 409)
  const after = await states(staged)
  for (const stagedId of staged) t.same(after[stagedId], { status: 'UPLOADED', messageId: null, linkedAt: null })
})

t.test('two concurrent links of the same staged file to different messages: exactly one wins', async (t) => {
  for (let round = 0; round < 25; round++) {
    const dialogId = id('d')
    const file = await stage(dialogId)
    const [first, second] = await Promise.all([
      link(dialogId, { messageId: 'm-a', attachmentIds: [file] }),
      link(dialogId, { messageId: 'm-b', attachmentIds: [file] })
    ])
    const statuses = [first.statusCode, second.statusCode].sort()
    t.same(statuses, [200, 409], `round ${round}: one 200, one 409`)
    const winner = first.statusCode === 200 ? 'm-a' : 'm-b'
    t.equal((await states([file]))[file]?.messageId, winner, 'the row points at the winner')
  }
})

t.test('overlapping batches in opposite order never deadlock', async (t) => {
  for (let round = 0; round < 10; round++) {
    const dialogId = id('d')
    const [a, b, c] = [await stage(dialogId), await stage(dialogId), await stage(dialogId)]
    const results = await Promise.all([
      link(dialogId, { messageId: 'm-1', attachmentIds: [a, b, c] }),
      link(dialogId, { messageId: 'm-1', attachmentIds: [c, b, a] })
    ])
    t.same(results.map((res) => res.statusCode), [200, 200], `round ${round}`)
  }
})

t.test('invalid link bodies are 400', async (t) => {
  const dialogId = id('d')
  const valid = randomUUID()
  const bodies: unknown[] = [
    {},
    { messageId: 'm' },
    { attachmentIds: [valid] },
    { messageId: 'm', attachmentIds: [] },
    { messageId: 'm', attachmentIds: Array.from({ length: 51 }, () => randomUUID()) },
    { messageId: 'm', attachmentIds: ['not-a-uuid'] },
    { messageId: 'bad id!', attachmentIds: [valid] },
    { messageId: 'm', attachmentIds: [valid], extra: true }
  ]
  for (const body of bodies) {
    const res = await link(dialogId, body)
    t.equal(res.statusCode, 400, JSON.stringify(body).slice(0, 80))
  }
  const malformed = await app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/attachments/link`, headers: { ...auth(), 'content-type': 'application/json' }, payload: '{"messageId":' })
  t.equal(malformed.statusCode, 400)
  t.equal(malformed.json().statusCode, 400)
})

t.test('50 ids link in one request', async (t) => {
  const dialogId = id('d')
  const ids = await Promise.all(Array.from({ length: 50 }, () => stage(dialogId)))
  const res = await link(dialogId, { messageId: 'm-50', attachmentIds: ids })
  t.equal(res.statusCode, 200)
  t.equal(res.json().attachments.length, 50)
})
