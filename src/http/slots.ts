// Work in flight at once, per key and per instance: downloads per viewer and
// in all, uploads in all. A client that never reads holds an S3 socket for as
// long as it stays connected, so one user must not be able to take them all,
// and the instance as a whole keeps S3 sockets for uploads and readiness.
// Counted in this process only: with N instances a viewer may hold the
// per-key number on each (documented).
export interface Slots {
  /** A release function (idempotent), or which limit is reached. */
  acquire (key: string): (() => void) | 'key' | 'total'
  readonly inFlight: number
}

export function createSlots (limits: { perKey: number, total: number }): Slots {
  const byKey = new Map<string, number>()
  let inFlight = 0
  return {
    acquire (key) {
      const held = byKey.get(key) ?? 0
      if (held >= limits.perKey) return 'key'
      if (inFlight >= limits.total) return 'total'
      byKey.set(key, held + 1)
      inFlight++
      let released = false
      return () => {
        if (released) return
        released = true
        inFlight--
        const left = (byKey.get(key) ?? 1) - 1
        if (left === 0) byKey.delete(key)
        else byKey.set(key, left)
      }
    },
    get inFlight () {
      return inFlight
    }
  }
}
