// src/db/schema.ts and the committed migrations must agree: what
// `npm run db:generate` would write from the schema is already in
// migrations/. A schema change without its migration fails here.
import { spawnSync } from 'node:child_process'
import { cp, mkdir, readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { createTempDir } from '../support/leftovers.js'
import { diesWithParent } from '../support/process.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

t.test('drizzle-kit generate finds nothing to add to the committed migrations', async (t) => {
  // A copy, so a drifted schema never writes into migrations/. Inside the
  // (git-ignored) .tap folder: drizzle-kit mangles absolute --out paths.
  await mkdir(join(ROOT, '.tap'), { recursive: true })
  const out = await createTempDir(t, 'migrations', join(ROOT, '.tap'))
  await cp(join(ROOT, 'migrations'), out, { recursive: true })
  const before = (await readdir(out)).sort()

  const run = spawnSync(...diesWithParent(join(ROOT, 'node_modules/.bin/drizzle-kit'), ['generate', '--dialect', 'postgresql', '--schema', './src/db/schema.ts', '--out', relative(ROOT, out)]), {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000
  })
  t.equal(run.status, 0, run.stderr)
  t.notMatch(run.stdout + run.stderr, /Error/, 'no error (drizzle-kit can exit 0 after one)')
  t.match(run.stdout, /No schema changes/, 'the schema has nothing the migrations lack')
  t.same((await readdir(out)).sort(), before, 'no migration file was written')
})
