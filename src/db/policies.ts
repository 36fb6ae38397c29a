// Per-dialog retention and legal hold (dialog_policy). A dialog without a
// row has the defaults: the global RETENTION_DAYS and no hold.
import { and, eq, inArray } from 'drizzle-orm'
import type { Db } from './client.js'
import { dialogPolicy } from './schema.js'

export interface Policy {
  /** null: the global RETENTION_DAYS applies. */
  retentionDays: number | null
  legalHold: boolean
  /** When the chat app last set it; null for a dialog never set. */
  updatedAt: Date | null
}

export type PolicyRepository = ReturnType<typeof createPolicyRepository>

export function createPolicyRepository (db: Db) {
  return {
    async get (dialogId: string): Promise<Policy> {
      const [row] = await db.select().from(dialogPolicy).where(eq(dialogPolicy.dialogId, dialogId))
      return row ?? { retentionDays: null, legalHold: false, updatedAt: null }
    },

    /** Replaces the dialog's policy (PUT semantics); one statement, so the last writer wins. */
    async put (dialogId: string, policy: { retentionDays: number | null, legalHold: boolean }): Promise<Policy> {
      const now = new Date()
      const [row] = await db.insert(dialogPolicy)
        .values({ dialogId, ...policy, updatedAt: now })
        .onConflictDoUpdate({ target: dialogPolicy.dialogId, set: { ...policy, updatedAt: now } })
        .returning()
      return row!
    },

    async isHeld (dialogId: string): Promise<boolean> {
      return (await this.held([dialogId])).has(dialogId)
    },

    /** The dialogs among these that are under legal hold. */
    async held (dialogIds: string[]): Promise<Set<string>> {
      if (dialogIds.length === 0) return new Set()
      const rows = await db.select({ dialogId: dialogPolicy.dialogId }).from(dialogPolicy)
        .where(and(inArray(dialogPolicy.dialogId, dialogIds), eq(dialogPolicy.legalHold, true)))
      return new Set(rows.map((row) => row.dialogId))
    }
  }
}
