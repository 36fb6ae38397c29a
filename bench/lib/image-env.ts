// The process-level settings the image gives the service (the Dockerfile's
// ENV NODE_OPTIONS and MALLOC_ARENA_MAX), read from the Dockerfile itself so
// the service is measured as the image runs it and the values are written
// in one place. NODE_OPTIONS sets the young generation's size, which alone
// moves the idle RSS by about 30 MiB.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const NAMES = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'] as const

export function imageEnv (): Record<string, string> {
  const dockerfile = readFileSync(fileURLToPath(new URL('../../Dockerfile', import.meta.url)), 'utf8')
  const env: Record<string, string> = {}
  for (const name of NAMES) {
    // `ENV NAME=value` or `ENV NAME="value with spaces"`; the last one wins, as in Docker.
    for (const [, quoted, plain] of dockerfile.matchAll(new RegExp(`^ENV\\s+${name}=(?:"([^"]*)"|(\\S+))\\s*$`, 'gm'))) {
      env[name] = quoted ?? plain ?? ''
    }
    if (env[name] === undefined) throw new Error(`the Dockerfile sets no ENV ${name}=…`)
  }
  return env
}
