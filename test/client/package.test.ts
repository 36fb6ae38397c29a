// The client ships as the package's "./client" export, compiled into dist/
// with its declarations, and pulls in nothing but Node itself: the chat app
// adds no dependency by using it.
import { readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

t.test('package.json exports ./client from the build, with its types', async (t) => {
  const pkg = JSON.parse(read('package.json')) as { exports: Record<string, { types: string, default: string }> }
  t.same(pkg.exports['./client'], { types: './dist/client/index.d.ts', default: './dist/client/index.js' })
  const build = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string, outDir: string, declaration: boolean } }
  t.match(build.compilerOptions, { rootDir: 'src', outDir: 'dist', declaration: true }, 'src/client/index.ts compiles to dist/client/index.js and .d.ts')
})

t.test('the client imports only node: modules and its own files', async (t) => {
  const seen = new Set<string>()
  const external = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    // Type-only imports vanish from the build.
    for (const [, typeOnly, specifier] of read(file).matchAll(/^(?:import|export)( type)? [^'"]*from '([^']+)'/gm)) {
      if (typeOnly || !specifier) continue
      if (specifier.startsWith('.')) visit(relative(ROOT, join(dirname(join(ROOT, file)), specifier.replace(/\.js$/, '.ts'))))
      else external.add(specifier)
    }
  }
  visit('src/client/index.ts')
  t.ok(seen.size >= 5, `${seen.size} files: ${[...seen].join(', ')}`)
  t.same([...external].filter((specifier) => !specifier.startsWith('node:')), [], `only Node: ${[...external].join(', ')}`)
})
