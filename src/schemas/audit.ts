// The read audit and token revocations of the internal API.
import { Type } from 'typebox'
import { ExternalId, ref } from './common.js'

export const AccessEvent = Type.Object({
  attachmentId: Type.String({ format: 'uuid' }),
  variant: Type.String({ description: '"original", or "preview:<size>:<format>"' }),
  viewer: Type.String({ description: 'The token\'s sub, or "dlg:<dialog>" for a dialog link token' }),
  grantedBy: Type.Enum(['owner', 'read_any', 'dialog_link']),
  tokenSource: Type.Enum(['header', 'cookie', 'query']),
  status: Type.Integer({ description: '200, 206, or 304 for a counted row' }),
  bytes: Type.Integer({ minimum: 0 }),
  count: Type.Integer({ minimum: 1, description: '1, or the number of 304s gathered in one row' }),
  clientHash: Type.Union([Type.String(), Type.Null()], { description: 'HMAC of the client address (AUDIT_IP_SALT); null when not recorded' }),
  at: Type.String({ format: 'date-time' })
}, { $id: 'AccessEvent', title: 'AccessEvent', description: 'One read of an attachment (or a run of 304s)' })

export const AccessLogPage = Type.Object({
  events: Type.Array(ref(AccessEvent)),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as ?cursor= for the next (older) page; null on the last page' })
}, { $id: 'AccessLogPage', title: 'AccessLogPage' })

export const AccessLogQuery = Type.Object({
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
  cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 })
}, { additionalProperties: false })

export const RevocationRequest = Type.Object({
  sub: Type.Optional(ExternalId),
  issuedBefore: Type.String({ format: 'date-time', description: 'Tokens whose iat is before this are refused' })
}, { $id: 'RevocationRequest', title: 'RevocationRequest', additionalProperties: false })

export const Revocation = Type.Object({
  dialogId: ExternalId,
  sub: Type.Union([ExternalId, Type.Null()]),
  issuedBefore: Type.String({ format: 'date-time' })
}, { $id: 'Revocation', title: 'Revocation' })
