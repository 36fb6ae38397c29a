// The embedded Postgres makes the library symlinks its binaries need when
// npm skipped the platform package's postinstall (--ignore-scripts, or an
// allowScripts policy): checked on a copy of the installed package's list.
import { existsSync, readFileSync, readlinkSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import t from 'tap'
import { binariesPackage, ensureLibraryLinks } from '../../scripts/dev/postgres-links.js'

const installed = await binariesPackage()

t.test('the installed package is found, with its binaries and their links in place', async (t) => {
  t.ok(existsSync(join(installed, 'native', 'bin', 'postgres')), installed)
  t.equal(await ensureLibraryLinks(installed), 0, 'nothing missing after npm ci')
})

t.test('missing links are made, relative, pointing at the listed files; a second run makes none', async (t) => {
  const list = JSON.parse(readFileSync(join(installed, 'native', 'pg-symlinks.json'), 'utf8')) as Array<{ source: string, target: string }>
  t.ok(list.length > 0, `${list.length} links listed`)
  const copy = t.testdir({ native: { 'pg-symlinks.json': JSON.stringify(list) } })
  // The files the links point to, as npm unpacks them (the links themselves are not in the tarball).
  for (const { source } of list) {
    await mkdir(dirname(join(copy, source)), { recursive: true })
    await writeFile(join(copy, source), source)
  }
  t.equal(await ensureLibraryLinks(copy), list.length)
  for (const { source, target } of list) {
    t.equal(readFileSync(join(copy, target), 'utf8'), source, `${target} reaches ${source}`)
    t.notMatch(readlinkSync(join(copy, target)), /^\//, 'relative')
  }
  t.equal(await ensureLibraryLinks(copy), 0)
})
