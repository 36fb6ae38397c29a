// Revocation across two instances: tokens of a dialog issued before a time
// are refused (the common 404) on the instance that recorded it at once and
// on the other as soon as it has read the list, also tokens it had already
// verified and cached; a stale list is read again before it answers, and
// one that cannot be read fails closed (503).
import { setTimeout as sleep } from 'node:timers/promises'
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { auth, build, id, JWT_SECRET, setup, token } from '../helper.js'
import { attach } from '../support/attachments.js'

const ctx = await setup(t)
const a = await build(t, ctx)
const b = await build(t, ctx)
const dialogId = id('d')
const ownerId = id('o')
const file = await attach(a.app, dialogId, 'hello', { ownerId })
const url = `/v1/attachments/${dialogId}/${file.id}`
const now = () => Math.floor(Date.now() / 1000)

async function until (condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(10)
}

async function revoke (body: Record<string, unknown>, dialog = dialogId) {
  const res = await a.app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialog}/revocations`, headers: auth(), payload: body })
  t.equal(res.statusCode, 201)
  return res
}

t.test('link tokens issued before the revocation: 404 on both instances, cached ones too; newer ones pass', async (t) => {
  const old = token({ dlg: dialogId, iat: now() - 60, exp: now() + 300 })
  for (const { app } of [a, b]) t.equal((await app.inject({ url: `${url}?token=${old}` })).statusCode, 200, 'verified and cached before')
  const common = await a.app.inject({ url: `/v1/attachments/${dialogId}/00000000-0000-4000-8000-000000000000`, headers: { authorization: `Bearer ${token({ sub: ownerId })}` } })

  const known = b.app.revocations.size
  await revoke({ issuedBefore: new Date().toISOString() })
  const onA = await a.app.inject({ url: `${url}?token=${old}` })
  t.equal(onA.statusCode, 404, 'the recording instance refuses at once')
  t.equal(onA.body, common.body, 'the common 404')
  // The other instance learns on its next poll (REVOCATION_POLL_MS).
  await until(() => b.app.revocations.size > known)
  t.equal((await b.app.inject({ url: `${url}?token=${old}` })).statusCode, 404, 'the other instance refuses too')
  t.equal((await b.app.inject({ url, headers: { authorization: `Bearer ${old}` } })).statusCode, 404, 'in a header too')

  await sleep(1_100) // iat has whole seconds: a token issued after the revocation
  const fresh = token({ dlg: dialogId })
  t.equal((await b.app.inject({ url: `${url}?token=${fresh}` })).statusCode, 200, 'a link token issued afterwards reads')
  t.equal((await b.app.inject({ url, headers: { authorization: `Bearer ${token({ sub: ownerId, iat: now() - 3600 })}` } })).statusCode, 200, 'owner tokens are not touched without sub')
  t.equal((await b.app.inject({ url, headers: { authorization: `Bearer ${token({ sub: 'agent', scope: 'attachments:read:any', iat: now() - 3600 })}` } })).statusCode, 200, 'agents are not touched')
  t.ok(a.logs.join('').includes('"reason":"revoked"'), 'the reason is logged')
})

t.test('with sub: the owner\'s older tokens are refused; another dialog is untouched', async (t) => {
  const otherDialog = id('d')
  const other = await attach(a.app, otherDialog, 'other', { ownerId })
  const ownerOld = token({ sub: ownerId, iat: now() - 60 })
  const known = b.app.revocations.size
  await revoke({ sub: ownerId, issuedBefore: new Date().toISOString() })
  await until(() => b.app.revocations.size > known)
  t.equal((await b.app.inject({ url, headers: { authorization: `Bearer ${ownerOld}` } })).statusCode, 404)
  const noIat = createSigner({ key: JWT_SECRET, noTimestamp: true })({ sub: ownerId, exp: now() + 300 })
  t.equal((await b.app.inject({ url, headers: { authorization: `Bearer ${noIat}` } })).statusCode, 404, 'a token without iat cannot prove it is newer')
  t.equal((await b.app.inject({ url: `/v1/attachments/${otherDialog}/${other.id}`, headers: { authorization: `Bearer ${ownerOld}` } })).statusCode, 200, 'the revocation is per dialog')
})

t.test('a stale list is read again before it answers: a late timer never serves old knowledge, nor refuses', async (t) => {
  // No timer refreshes (polling stopped): the list goes stale on purpose.
  const { app } = await build(t, ctx, { REVOCATION_POLL_MS: '10000', REVOCATION_MAX_STALENESS_MS: '100' })
  app.revocations.close()
  const dialog = id('d')
  const staleFile = await attach(app, dialog, 'stale', { ownerId })
  const staleUrl = `/v1/attachments/${dialog}/${staleFile.id}`
  const link = token({ dlg: dialog, iat: now() - 60 })
  await app.revocations.refresh()
  t.equal((await app.inject({ url: `${staleUrl}?token=${link}` })).statusCode, 200, 'fresh: served')
  // Written by another instance (straight into the table): this one can
  // only know it by reading the list again.
  await ctx.sql`INSERT INTO token_revocation (dialog_id, issued_before) VALUES (${dialog}, now())`
  await sleep(150) // older than REVOCATION_MAX_STALENESS_MS
  t.equal((await app.inject({ url: `${staleUrl}?token=${link}` })).statusCode, 404, 'stale: read again, and the new revocation refuses')
  const newer = token({ dlg: dialog, iat: now() + 5 })
  await sleep(150)
  t.equal((await app.inject({ url: `${staleUrl}?token=${newer}` })).statusCode, 200, 'stale but readable: a newer token is served, not refused with 503')
})

t.test('a list that cannot be read fails closed: 503, not served (forced: the table renamed away)', async (t) => {
  const { app } = await build(t, ctx, { REVOCATION_POLL_MS: '10000', REVOCATION_MAX_STALENESS_MS: '100' })
  app.revocations.close()
  const link = token({ dlg: dialogId, iat: now() + 5 })
  await app.revocations.refresh()
  t.equal((await app.inject({ url: `${url}?token=${link}` })).statusCode, 200, 'fresh: served')
  await ctx.sql`ALTER TABLE token_revocation RENAME TO token_revocation_away`
  t.teardown(() => ctx.sql`ALTER TABLE IF EXISTS token_revocation_away RENAME TO token_revocation`)
  await sleep(150)
  const res = await app.inject({ url: `${url}?token=${link}` })
  t.equal(res.statusCode, 503, 'stale and unreadable: refused with 503')
  t.equal(res.headers['retry-after'], '5')
  t.match(JSON.parse(res.body), { code: 'ATT_UNAVAILABLE' })
  const agent = await app.inject({ url, headers: { authorization: `Bearer ${token({ sub: 'agent', scope: 'attachments:read:any' })}` } })
  t.equal(agent.statusCode, 200, 'readers no revocation can refuse are still served')
  await ctx.sql`ALTER TABLE token_revocation_away RENAME TO token_revocation`
  t.equal((await app.inject({ url: `${url}?token=${link}` })).statusCode, 200, 'readable again: served')
})

t.test('the body is validated', async (t) => {
  const res = await a.app.inject({ method: 'POST', url: `/internal/v1/dialogs/${dialogId}/revocations`, headers: auth(), payload: { issuedBefore: 'yesterday' } })
  t.equal(res.statusCode, 400)
})
