// package.json's engines stays honest: every locked dependency that this
// platform installs accepts both the oldest Node the project claims to run on
// and the Node of the image. (A dependency that wants a newer Node makes
// every install on the oldest one warn, as cookie@2 did through
// light-my-request.)
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import semver from 'semver'
import t from 'tap'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const read = (path: string) => readFileSync(`${ROOT}/${path}`, 'utf8')

interface Locked { engines?: { node?: string } | string[], os?: string[], cpu?: string[] }

const claimed = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node
const oldest = semver.minVersion(claimed)!.version
const imageMajor = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(read('Dockerfile'))?.[1]
const locked = Object.entries((JSON.parse(read('package-lock.json')) as { packages: Record<string, Locked> }).packages)

/** npm's os/cpu lists: names, or "!name" to exclude. */
const admits = (list: string[] | undefined, value: string) =>
  !list || (list.some((item) => !item.startsWith('!')) ? list.includes(value) : !list.includes(`!${value}`))

t.test('the claimed range and the image agree', async (t) => {
  t.equal(oldest, '20.19.0', `engines.node is ${claimed}`)
  t.ok(imageMajor, 'the Dockerfile names its Node image')
  t.ok(semver.satisfies(`${imageMajor}.0.0`, claimed), `the image's Node ${imageMajor} is within ${claimed}`)
})

t.test('every installed dependency accepts the oldest claimed Node and the image\'s', async (t) => {
  const checked = locked.filter(([path, entry]) => path !== '' && admits(entry.os, process.platform) && admits(entry.cpu, process.arch))
  const ranges = checked.flatMap(([path, entry]) => {
    const node = Array.isArray(entry.engines) ? undefined : entry.engines?.node
    return node ? [[path, node] as const] : []
  })
  t.ok(ranges.length > 50, `${ranges.length} dependencies declare engines.node`)
  const refusing = (version: string) => ranges.filter(([, range]) => !semver.satisfies(version, range)).map(([path, range]) => `${path} (${range})`)
  t.same(refusing(oldest), [], `none refuses Node ${oldest}`)
  t.same(refusing(`${imageMajor}.0.0`), [], `none refuses Node ${imageMajor}`)
})
