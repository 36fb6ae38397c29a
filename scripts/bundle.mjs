// `npm run build`, second step: the server as one minified ES module,
// dist/server.js, over the file-by-file output of tsc (which the CLIs and
// the client package keep using).
//
// Why: loaded file by file, the server keeps the source text of ~900 modules
// in V8's heap and a module record, a scope and a compiled top level for
// each. One minified bundle took the idle RSS from 100-106 MiB to about 84,
// and the peak with twenty slow clients from 155-160 MiB to about 127
// (README, Benchmark). esbuild is the compiler tsx already uses.
//
// What stays outside, loaded from node_modules at run time:
// - sharp (native) and libheif-js (WebAssembly found by path in a worker);
// - the AWS SDK: its client is imported on the first write, so an instance
//   that only serves reads never loads it;
// - pino and its transports, which find their worker files by path.
//
// Paths taken from import.meta.url (the HEIC worker, the migrations folder,
// createRequire) must still point where the file-by-file layout has them,
// so every import.meta.url in a bundled file becomes the URL that file's own
// output would have under the output folder. The HEIC worker is bundled the
// same way, to images/heic-worker.js beside the server.
//
// Usage: node scripts/bundle.mjs [--outdir DIR] (default dist/).
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { decode, encode } from '@jridgewell/sourcemap-codec'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SRC = join(ROOT, 'src')
const { values } = parseArgs({ options: { outdir: { type: 'string', default: join(ROOT, 'dist') } } })
const outdir = resolve(values.outdir)

export const EXTERNAL = ['sharp', 'libheif-js', 'pino', 'pino-pretty', 'thread-stream', '@aws-sdk/*', '@smithy/*']

// CommonJS packages inside an ES module bundle still call require() and read
// __dirname; both are given what the bundle's own location says.
const BANNER = [
  "import { createRequire as __bundleRequire } from 'node:module';",
  "import { dirname as __bundleDirname } from 'node:path';",
  "import { fileURLToPath as __bundlePath } from 'node:url';",
  'const require = __bundleRequire(import.meta.url);',
  'const __filename = __bundlePath(import.meta.url);',
  'const __dirname = __bundleDirname(__filename);'
].join('\n')

/** Where a bundled file would sit unbundled: src/x.ts as <outdir>/x.js, anything else where it is. */
function unbundledPath (file) {
  const fromSrc = relative(SRC, file)
  if (!fromSrc.startsWith('..')) return join(outdir, fromSrc.replace(/\.ts$/, '.js'))
  return file
}

/** Rewrites import.meta.url to the file's unbundled URL, relative to the output file that runs it. */
function importMetaUrlPlugin (outfile) {
  return {
    name: 'unbundled-import-meta-url',
    setup (pluginBuild) {
      pluginBuild.onLoad({ filter: /\.(ts|js|mjs)$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8')
        if (!text.includes('import.meta.url')) return undefined
        let target = relative(dirname(outfile), unbundledPath(args.path)).split('\\').join('/')
        if (!target.startsWith('.')) target = `./${target}`
        const contents = text.replaceAll('import.meta.url', `new URL(${JSON.stringify(target)}, import.meta.url).href`)
        return { contents, loader: args.path.endsWith('.ts') ? 'ts' : 'js' }
      })
    }
  }
}

async function bundle (entry, outfile) {
  await build({
    entryPoints: [join(SRC, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    // Error classes and plugins are logged and matched by name.
    keepNames: true,
    // Stack traces point into src/ with --enable-source-maps (the image's
    // NODE_OPTIONS); the sources themselves are not copied into the map.
    sourcemap: 'linked',
    sourcesContent: false,
    // Licences go to <file>.LEGAL.txt beside it, not into the loaded source.
    legalComments: 'linked',
    external: EXTERNAL,
    banner: { js: BANNER },
    tsconfig: join(ROOT, 'tsconfig.json'),
    plugins: [importMetaUrlPlugin(outfile)],
    logLevel: 'warning'
  })
}

/**
 * Keeps only the mappings into src/. Node decodes a whole map the first time
 * a stack is formatted: with every dependency in it (2.8 MB), that cost the
 * process 30-60 MiB after the first logged error. A frame in a dependency
 * then shows its place in the bundle, and its function's name.
 */
async function mapSourcesOnly (outfile) {
  const mapFile = `${outfile}.map`
  const map = JSON.parse(await readFile(mapFile, 'utf8'))
  const fromMap = (source) => resolve(dirname(mapFile), source)
  const sources = []
  const sourceIndex = map.sources.map((source) => {
    if (relative(SRC, fromMap(source)).startsWith('..')) return -1
    sources.push(source)
    return sources.length - 1
  })
  const names = []
  const nameIndex = new Map()
  const lines = decode(map.mappings).map((segments) => {
    const kept = []
    for (const segment of segments) {
      const source = segment.length > 1 ? sourceIndex[segment[1]] : -1
      if (source === -1) {
        // Unmapped from here on: one marker per run, so no frame is put in src/ wrongly.
        if (kept.at(-1)?.length !== 1) kept.push([segment[0]])
        continue
      }
      const mapped = [segment[0], source, segment[2], segment[3]]
      if (segment.length === 5) {
        const name = map.names[segment[4]]
        if (!nameIndex.has(name)) nameIndex.set(name, names.push(name) - 1)
        mapped.push(nameIndex.get(name))
      }
      kept.push(mapped)
    }
    return kept
  })
  await writeFile(mapFile, JSON.stringify({ ...map, sources, names, mappings: encode(lines) }))
}

for (const [entry, outfile] of [['server.ts', join(outdir, 'server.js')], ['images/heic-worker.ts', join(outdir, 'images', 'heic-worker.js')]]) {
  await bundle(entry, outfile)
  await mapSourcesOnly(outfile)
}
