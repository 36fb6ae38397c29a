// Cluster-wide advisory lock keys. hashtextextended() is a documented 64-bit
// hash, so the keys are stable across Postgres versions and readable here.
export const LOCKS = {
  migrate: 'chat_attachment:migrate',
  cleanup: 'chat_attachment:cleanup',
  backfill: 'chat_attachment:backfill'
} as const

export type LockName = keyof typeof LOCKS
