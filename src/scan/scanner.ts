// The malware gate's contract. A scan is a Writable session: the upload flow
// writes the file's bytes into it while they stream to storage (see tee.ts),
// then reads its verdict. Every failure to reach a verdict (scanner down, too
// slow, refusing the stream) is a ScannerUnavailableError: the caller must
// treat it as "not scanned" and store nothing (fail closed).
import type { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Config, SCAN_SETTINGS } from '../config.js'
import { InfectedError } from '../errors.js'
import { createClamdScanner } from './clamd.js'

export type Verdict = { infected: false } | { infected: true, signature: string }

export interface ScanSession extends Writable {
  /**
   * Settles once the scanner has judged every byte written before end():
   * resolves with the verdict, rejects with ScannerUnavailableError (or the
   * error the session was destroyed with). Never rejects unhandled.
   */
  verdict (): Promise<Verdict>
}

export interface ScanOptions {
  /** Aborting destroys the session (and its connection) with the signal's reason. */
  signal?: AbortSignal
}

export interface Scanner {
  /** "clamd": the name readiness reports. */
  readonly name: string
  /** Opens a scan; throws ScannerUnavailableError after close(). */
  startScan (options?: ScanOptions): ScanSession
  /** Resolves when the scanner answers; rejects with ScannerUnavailableError. */
  ping (options?: ScanOptions): Promise<void>
  /** Destroys the sessions still open (they fail with ScannerUnavailableError). */
  close (): Promise<void>
}

export type ScanConfig = Pick<Config, typeof SCAN_SETTINGS[number]>

/** The configured scanner, or undefined when SCAN_MODE is off. */
export function createScanner (config: ScanConfig): Scanner | undefined {
  if (config.SCAN_MODE === 'off') return undefined
  return createClamdScanner({
    address: config.CLAMD_SOCKET ? { path: config.CLAMD_SOCKET } : { host: config.CLAMD_HOST, port: config.CLAMD_PORT },
    timeoutMs: config.SCAN_TIMEOUT_MS
  })
}

/** Throws InfectedError (422) for an infected verdict. */
export function assertClean (verdict: Verdict): void {
  if (verdict.infected) throw new InfectedError(verdict.signature)
}

/**
 * Scans a whole stream that nobody else reads (a stored object, for the
 * backfill): resolves with the verdict; the source is destroyed on failure.
 */
export async function scanStream (scanner: Scanner, source: Readable, options: ScanOptions = {}): Promise<Verdict> {
  const session = scanner.startScan(options)
  await pipeline(source, session)
  return await session.verdict()
}
