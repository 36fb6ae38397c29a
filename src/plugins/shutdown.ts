// Shutdown in three steps, so that no request in flight is cut and no new
// one is sent to a process that is going away:
// 1. drain: readiness answers 503 at once (the load balancer stops sending)
//    while the listener stays open SHUTDOWN_DRAIN_MS for requests already
//    routed here; their answers close their connections;
// 2. close: the listener closes (new connections are refused), idle
//    connections are closed, requests in flight go on;
// 3. at SHUTDOWN_GRACE_MS after the signal, connections still open are cut;
//    then the plugins close their pools (Postgres, Redis, S3) in onClose.
import { setTimeout as sleep } from 'node:timers/promises'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** True from the shutdown signal on: readiness answers 503. */
    readonly draining: boolean
    /** Drains, closes the listener, waits for requests in flight (bounded), closes the app. Idempotent. */
    shutdown: () => Promise<void>
  }
}

export default fp<{ config: Pick<Config, 'SHUTDOWN_DRAIN_MS' | 'SHUTDOWN_GRACE_MS'> }>(async function shutdownPlugin (app, { config }) {
  let draining = false
  let closing: Promise<void> | undefined
  app.decorate('draining', { getter: () => draining })

  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close')
    done(null, payload)
  })
  // A response that began before the signal kept its connection alive:
  // once it is over, the connection is ended (after the bytes already
  // written), so that close() does not wait for its keep-alive timeout.
  app.addHook('onResponse', (request, _reply, done) => {
    if (draining && !request.raw.socket.destroyed) request.raw.socket.end()
    done()
  })

  async function shutdown (): Promise<void> {
    const started = Date.now()
    draining = true
    app.log.info({ drainMs: config.SHUTDOWN_DRAIN_MS, graceMs: config.SHUTDOWN_GRACE_MS }, 'shutting down: readiness now answers 503')
    await sleep(config.SHUTDOWN_DRAIN_MS)
    const cut = setTimeout(() => {
      app.log.warn('shutdown grace period over: cutting the connections still open')
      app.server.closeAllConnections()
    }, Math.max(0, config.SHUTDOWN_GRACE_MS - (Date.now() - started)))
    try {
      app.log.info('shutting down: listener closed, waiting for requests in flight')
      await app.close()
    } finally {
      clearTimeout(cut)
    }
    app.log.info({ ms: Date.now() - started }, 'shut down: requests finished, pools closed')
  }
  app.decorate('shutdown', () => (closing ??= shutdown()))
}, { name: 'shutdown', fastify: '5.x' })
