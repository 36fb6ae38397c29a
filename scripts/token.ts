// `npm run -s token -- [options]`: prints one token signed with JWT_SECRET
// from the settings of `npm run dev` (the environment, .env, the development
// key), for trying the API by hand. Development only.
import { parseArgs } from 'node:util'
import { localSettings } from './dev/settings.js'
import { mintToken, type TokenKind } from './dev/tokens.js'

const USAGE = `Usage: npm run -s token -- <one of>
  --service            a service token (scope attachments:write), for /internal/v1
  --user <id>          a viewer token: reads the attachments of the dialogs <id> owns
  --agent <id>         a support agent's token (scope attachments:read:any)
  --dialog <id>        a link token for ?token=: reads dialog <id>'s attachments
  --ttl <seconds>      lifetime (default 12 h; a link token's default and longest
                       is QUERY_TOKEN_MAX_TTL_SECONDS, 600)
Signed with JWT_SECRET (environment, .env, else the development key).`

function fail (message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`)
  process.exit(2)
}

let values
try {
  values = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      service: { type: 'boolean', default: false },
      user: { type: 'string' },
      agent: { type: 'string' },
      dialog: { type: 'string' },
      ttl: { type: 'string' },
      help: { type: 'boolean', default: false }
    }
  }).values
} catch (err) {
  fail((err as Error).message)
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}

const kinds: TokenKind[] = [
  ...(values.service ? [{ kind: 'service' as const }] : []),
  ...(values.user !== undefined ? [{ kind: 'viewer' as const, sub: values.user }] : []),
  ...(values.agent !== undefined ? [{ kind: 'agent' as const, sub: values.agent }] : []),
  ...(values.dialog !== undefined ? [{ kind: 'link' as const, dialogId: values.dialog }] : [])
]
if (kinds.length !== 1) fail('Give exactly one of --service, --user, --agent, --dialog.')
const kind = kinds[0]!

const { env } = localSettings()
const maxLinkTtl = Number(env.QUERY_TOKEN_MAX_TTL_SECONDS ?? 600)
if (values.ttl !== undefined && !/^[1-9]\d{0,7}$/.test(values.ttl)) fail('--ttl must be a whole number of seconds')
const ttl = values.ttl !== undefined ? Number(values.ttl) : kind.kind === 'link' ? maxLinkTtl : 12 * 3600
if (kind.kind === 'link' && ttl > maxLinkTtl) fail(`A link token may live at most QUERY_TOKEN_MAX_TTL_SECONDS (${maxLinkTtl} s).`)

const token = mintToken(env, kind, ttl)
if (!token) fail('JWT_PUBLIC_KEY is set, not JWT_SECRET: sign tokens with its private key.')
process.stdout.write(`${token}\n`)
