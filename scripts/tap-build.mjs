// Rebuilds tap's Test class when .taprc's plugin list changed since it was
// last built (`npm test` runs this first).
//
// tap notices a stale build itself, but only rebuilds it for the next run:
// the run that notices still starts every test file with the old loaders.
// On a fresh clone (every CI run) that is tap's default set, whose
// TypeScript plugin loads ts-node into each test file (about 3 s of CPU
// per file, against the tsx .taprc chose) although .taprc turns it off.
import { spawnSync } from 'node:child_process'
import { TapConfig } from '@tapjs/config'
import { signature } from '@tapjs/test'

const config = await TapConfig.load()
if (config.pluginSignature !== signature) {
  process.stderr.write('tap-build: .taprc plugins changed; rebuilding tap\n')
  const build = spawnSync(process.execPath, [new URL('../node_modules/tap/dist/esm/run.mjs', import.meta.url).pathname, 'build'], { stdio: 'inherit' })
  process.exitCode = build.status ?? 1
}
