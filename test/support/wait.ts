// Waiting for a state, not for a time. A test that needs something to have
// happened (a socket back in the pool, a process gone, a lock queued) polls
// for exactly that state, however long a busy machine takes to get there.
// The deadline only turns a state that never comes into a failure that
// names it: it is far above anything a loaded machine needs, and never
// part of what a test asserts.
import { setTimeout as sleep } from 'node:timers/promises'

export const WAIT_LIMIT_MS = 60_000

/** Resolves once condition() holds; rejects naming `what` if it never does. */
export async function waitUntil (condition: () => boolean | Promise<boolean>, what: string, limitMs = WAIT_LIMIT_MS): Promise<void> {
  const deadline = Date.now() + limitMs
  for (let pause = 5; !(await condition()); pause = Math.min(pause * 2, 100)) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${limitMs / 1000} s: ${what}`)
    await sleep(pause)
  }
}
