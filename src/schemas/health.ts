import { Type } from 'typebox'

const Check = Type.Object({ ok: Type.Boolean(), latencyMs: Type.Integer(), error: Type.Optional(Type.String()) })

export const Liveness = Type.Object({ status: Type.Literal('ok') }, { $id: 'Liveness', title: 'Liveness' })

export const Readiness = Type.Object({
  status: Type.Enum(['ok', 'unavailable']),
  // The malware scanner is checked only when SCAN_MODE is on: uploads fail
  // closed without it.
  checks: Type.Object({ postgres: Check, s3: Check, scanner: Type.Optional(Check) })
}, { $id: 'Readiness', title: 'Readiness', description: 'Each dependency\'s check; 503 when one fails' })
