// Runs Redocly's OpenAPI linter (redocly.yaml) on a document: the same check
// for `npm run lint:openapi` and for the test that keeps CI honest.
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(ROOT, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js')

export interface LintResult {
  errors: number
  warnings: number
  /** The linter's own report: stylish text, or its JSON report. */
  output: string
  code: number | null
}

export interface LintOptions {
  /** A folder for the document file. */
  dir: string
  format?: 'stylish' | 'json'
  /** Wraps the command (a test makes the linter die with it). */
  wrap?: (command: string, args: string[]) => [string, string[]]
}

export async function lintDocument (document: unknown, { dir, format = 'json', wrap = (c, a) => [c, a] }: LintOptions): Promise<LintResult> {
  const file = join(dir, 'openapi.json')
  await writeFile(file, JSON.stringify(document, null, 2))
  const [command, args] = wrap(process.execPath, [CLI, 'lint', file, '--config', join(ROOT, 'redocly.yaml'), `--format=${format}`])
  const child = spawn(command, args, {
    cwd: ROOT,
    // No usage reports or update checks leave the machine.
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  if (format === 'json') {
    const start = stdout.indexOf('{')
    if (start === -1) throw new Error(`the linter gave no report (exit ${code}): ${stderr.slice(-2000)}`)
    const report = JSON.parse(stdout.slice(start)) as { totals: { errors: number, warnings: number } }
    return { errors: report.totals.errors, warnings: report.totals.warnings, output: stdout.slice(start), code }
  }
  const totals = /(\d+) errors?/.exec(stdout + stderr)
  return { errors: code === 0 ? 0 : Number(totals?.[1] ?? 1), warnings: 0, output: stdout + stderr, code }
}
