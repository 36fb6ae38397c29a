// src/ compiled to JavaScript once per version of the source, for the tests
// that run an entrypoint as its own process. Started through tsx, every
// entrypoint paid about 2 s of CPU for the loader hooks on each of the
// hundreds of modules it loads (3.2 s against 1.2 s for the same CLI
// compiled); on a busy 2-core machine that made a CLI test file of two
// dozen runs outlast its timeout. The image runs compiled code too
// (`node dist/cli/...`), so this is also closer to production.
//
// esbuild is the compiler tsx itself uses, file by file (no bundling), so
// the code that runs is what `npm run dev` runs. The output goes to
// .tap/compiled/<hash of src>/src/, next to a link to migrations/, so paths
// taken from import.meta.url resolve as they do from dist/. Test files
// running at the same time share one output: each compiles into a folder of
// its own (named like every test leftover, so a killed compile is swept)
// and renames it into place; the first rename wins.
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildSync } from 'esbuild'
import { OWNER } from './leftovers.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OUTPUTS = join(ROOT, '.tap', 'compiled')

let compiled: string | undefined

/** The compiled twin of a file under src/ (`src/cli/backfill.ts` -> an absolute `.js` path). */
export function compiledEntrypoint (script: string): string {
  const source = relative(ROOT, join(ROOT, script))
  if (!source.startsWith('src/') || !source.endsWith('.ts')) throw new Error(`not a TypeScript file under src/: ${script}`)
  compiled ??= compileSource()
  return join(compiled, source.replace(/\.ts$/, '.js'))
}

function compileSource (): string {
  const src = join(ROOT, 'src')
  const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((file) => statSync(join(src, file)).isFile()).sort()
  const hash = createHash('sha256')
  for (const file of files) hash.update(`${file}\0`).update(readFileSync(join(src, file)))
  for (const file of ['tsconfig.json', 'package-lock.json']) hash.update(readFileSync(join(ROOT, file)))
  const target = join(OUTPUTS, hash.digest('hex').slice(0, 16))
  if (existsSync(target)) return target

  mkdirSync(OUTPUTS, { recursive: true })
  const staging = mkdtempSync(join(ROOT, '.tap', `ca-test-${OWNER}-compiling-`))
  try {
    buildSync({
      entryPoints: files.filter((file) => file.endsWith('.ts')).map((file) => join(src, file)),
      outdir: join(staging, 'src'),
      outbase: src,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      tsconfig: join(ROOT, 'tsconfig.json'),
      logLevel: 'error'
    })
    // Anything else under src/ (nothing today) is used as it is.
    for (const file of files.filter((file) => !file.endsWith('.ts'))) cpSync(join(src, file), join(staging, 'src', file))
    symlinkSync(join(ROOT, 'migrations'), join(staging, 'migrations'))
    renameSync(staging, target)
  } catch (err) {
    rmSync(staging, { recursive: true, force: true })
    // Another test file renamed its identical output into place first.
    if (existsSync(target)) return target
    throw err
  }
  pruneOutputs(target)
  return target
}

/** Outputs of earlier versions of src/, once nothing can be starting from them any more. */
function pruneOutputs (current: string): void {
  const dayAgo = Date.now() - 24 * 3_600_000
  for (const name of readdirSync(OUTPUTS)) {
    const path = join(OUTPUTS, name)
    if (path !== current && statSync(path).mtimeMs < dayAgo) rmSync(path, { recursive: true, force: true })
  }
}
