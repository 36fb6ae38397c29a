// S3 calls observed where every call passes: a middleware on the client's
// stack (initialize step, so retries count in the duration), which also sees
// the calls lib-storage makes for multipart uploads; and the reads that do not
// use the SDK (src/storage/signed-get.ts), under the same operation names.
import type { S3Client } from '@aws-sdk/client-s3'
import type { ReadObserver } from '../storage/signed-get.js'
import type { Metrics } from './metrics.js'
import { fieldOf, stringField } from '../fields.js'

type S3Metrics = Metrics['s3']

export function observeS3 (client: S3Client, metrics: S3Metrics): void {
  client.middlewareStack.add((next, context) => async (args) => {
    // Command names come from the SDK's fixed set: a bounded label.
    const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '')
    const stop = metrics.duration.startTimer({ operation })
    let outcome = 'ok'
    try {
      return await next(args)
    } catch (err) {
      outcome = outcomeOf(err)
      throw err
    } finally {
      stop()
      metrics.requests.inc({ operation, outcome })
    }
  }, { step: 'initialize', name: 'chatAttachmentsMetrics', override: true })
}

/** Reads sent without the SDK: timed up to the answer's headers, as the SDK's calls are. */
export function readObserver (metrics: S3Metrics): ReadObserver {
  return (operation) => {
    const stop = metrics.duration.startTimer({ operation })
    return (outcome) => {
      stop()
      metrics.requests.inc({ operation, outcome })
    }
  }
}

/** A missing object and a caller's abort are answers, not S3 failures. */
function outcomeOf (err: unknown): string {
  const name = stringField(err, 'name')
  if (name === 'AbortError') return 'aborted'
  if (name === 'NoSuchKey' || name === 'NotFound' || fieldOf(fieldOf(err, '$metadata'), 'httpStatusCode') === 404) return 'not_found'
  return 'error'
}
