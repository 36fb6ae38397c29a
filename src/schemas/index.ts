// The schemas with an `$id`: registered once (plugins/openapi.ts), referenced
// with ref() by the routes, and listed under components.schemas.
import { Attachment, DialogErased, LinkRequest, MessageAttachments, UploadForm } from './attachment.js'
import { AccessEvent, AccessLogPage, Revocation, RevocationRequest } from './audit.js'
import { ErrorResponse } from './common.js'
import { Liveness, Readiness } from './health.js'

export const SHARED_SCHEMAS = [
  ErrorResponse, Attachment, MessageAttachments, LinkRequest, DialogErased, UploadForm,
  AccessEvent, AccessLogPage, RevocationRequest, Revocation, Liveness, Readiness
]
