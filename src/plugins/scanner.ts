import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { createScanner, type Scanner } from '../scan/scanner.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The malware scanner; undefined when SCAN_MODE is off. */
    scanner: Scanner | undefined
  }
}

// No connection is opened at start: each scan opens its own, and readiness
// pings, so the service starts (and says it is not ready) while clamd is down.
export default fp<{ config: Config }>(async function scannerPlugin (app, { config }) {
  const scanner = createScanner(config)
  app.decorate('scanner', scanner)
  if (scanner) app.addHook('onClose', () => scanner.close())
}, { name: 'scanner', fastify: '5.x' })
