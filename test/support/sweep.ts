// Run by tap before the test files (.taprc `before`): removes the databases,
// folders and Redis keys that test processes which are gone left behind,
// typically a file tap killed on its timeout. Reports on stderr (stdout is
// the TAP stream). A failure to sweep is reported, not fatal: the tests
// themselves say what is wrong with Postgres or Redis.
import { sweepLeftovers } from './leftovers.js'

const swept = await sweepLeftovers()
const removed = [
  ...swept.databases.map((name) => `database ${name}`),
  ...swept.directories.map((path) => `folder ${path}`),
  ...(swept.redisKeys > 0 ? [`${swept.redisKeys} Redis keys`] : [])
]
if (removed.length > 0) process.stderr.write(`swept what ended test processes left: ${removed.join(', ')}\n`)
for (const error of swept.errors) process.stderr.write(`sweeping test leftovers: ${error}\n`)
