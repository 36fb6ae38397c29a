import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { createAuditRecorder, type AuditRecorder } from '../audit/recorder.js'
import { createAccessLogRepository, type AccessLogRepository } from '../db/access-log.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The read audit; undefined when AUDIT_ENABLED is false. */
    audit: AuditRecorder | undefined
    accessLog: AccessLogRepository
  }
}

// Registered after the database plugin, so its onClose (the last write)
// runs before the database closes.
export default fp<{ config: Config }>(async function auditPlugin (app, { config }) {
  const repository = createAccessLogRepository(app.database.db)
  app.decorate('accessLog', repository)
  if (!config.AUDIT_ENABLED) {
    app.decorate('audit', undefined)
    return
  }
  if (config.AUDIT_IP_SALT === undefined) app.log.warn('AUDIT_IP_SALT is not set: client addresses are not recorded in the read audit')
  const recorder = createAuditRecorder({
    repository,
    log: app.log,
    flushMs: config.AUDIT_FLUSH_MS,
    maxBuffered: config.AUDIT_BUFFER_MAX,
    ipSalt: config.AUDIT_IP_SALT
  })
  app.decorate('audit', recorder)
  app.addHook('onClose', () => recorder.close())
}, { name: 'audit', fastify: '5.x', dependencies: ['database'] })
