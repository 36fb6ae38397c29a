// What the read audit records of a browser answer: who read which variant
// of which attachment, how access was granted, with which token source, and
// how many body bytes went out. The bytes are counted as the body is handed
// to the connection, so an interrupted download records what was sent.
import type { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Access, GrantedBy } from '../../audit/recorder.js'
import type { TokenClaims } from '../../plugins/auth.js'
import { viewerName } from './viewer.js'

export function accessOf (request: FastifyRequest, row: { id: string, dialogId: string }, grantedBy: GrantedBy, variant: string): Access {
  const viewer = request.viewer!
  return {
    attachmentId: row.id,
    dialogId: row.dialogId,
    variant,
    viewer: viewerName(viewer.claims as TokenClaims),
    grantedBy,
    tokenSource: viewer.source ?? 'header',
    clientAddress: request.ip
  }
}

/** Counts the bytes of a streamed body; `done` gets them once the response is over, complete or not. */
export function countSent (reply: FastifyReply, body: Readable, done: (bytes: number) => void): void {
  let bytes = 0
  body.on('data', (chunk: Buffer) => { bytes += chunk.length })
  reply.raw.once('close', () => done(bytes))
}
