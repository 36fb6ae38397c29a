// `npm start`: the built service, dist/server.js, with the variables of .env
// (DEV_ENV_FILE) for those the environment does not set. No development
// defaults: a missing variable stops it exactly as in production. Plain
// JavaScript, so it runs where only production dependencies are installed.
// The image runs `node dist/server.js` itself. The npm script passes the
// image's --max-semi-space-size (Dockerfile NODE_OPTIONS; README "Idle memory"):
// a V8 flag cannot be set from inside the process once the heap exists.
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'

const server = new URL('../dist/server.js', import.meta.url)
if (!existsSync(server)) {
  process.stderr.write('dist/server.js is missing: run `npm run build` first (or `npm run dev` for the development server).\n')
  process.exit(1)
}

const envFile = resolve(process.env.DEV_ENV_FILE || '.env')
if (existsSync(envFile)) {
  for (const [name, value] of Object.entries(parseEnv(readFileSync(envFile, 'utf8')))) process.env[name] ??= value
}
// Node 20: the AWS SDK's notice that its releases after January 2027 need
// Node 22, silenced by its documented variable unless set (see .env.example).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

await import(server.href)
