// The service's only entry point that reads the environment.
// First: V8 flags that must be set before the rest is loaded.
import './v8-flags.js'
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'

let config
try {
  config = loadConfig(process.env)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`${err.message}\n`)
  process.exit(1)
}

const app = buildApp({ config, log: { pretty: process.stdout.isTTY } })

// SHUTDOWN_GRACE_MS bounds the requests in flight (see plugins/shutdown.ts);
// the margin is for closing the pools. Past it the process exits with 1.
closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS + 4_000 }, async ({ err, signal }) => {
  if (err) app.log.error({ err }, 'closing after an uncaught error')
  else app.log.info({ signal }, 'closing')
  await app.shutdown()
})

await app.listen({ port: config.PORT, host: config.HOST })
