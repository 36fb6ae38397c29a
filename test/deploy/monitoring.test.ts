// The dashboard and the alerts in deploy/ against the real service: the
// rules pass `promtool check rules` (Debian's prometheus package, installed
// by scripts/setup-system.sh), and every metric a dashboard query or an
// alert names is exported by a running instance (or, for the cleanup job,
// written by its --metrics-file). Each alert has its runbook in the README.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { jobMetricsText } from '../../src/metrics/textfile.js'
import { build, setup } from '../helper.js'
import { createTempDir } from '../support/leftovers.js'
import { parseMetrics, scrape } from '../support/prometheus.js'

t.setTimeout(120_000)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const PROMTOOL = '/usr/bin/promtool'

interface Rule { alert: string, expr: string, annotations?: { summary?: string, runbook?: string } }
const ruleFile = parse(readFileSync(join(ROOT, 'deploy/kubernetes/prometheus-rules.yaml'), 'utf8')) as { spec: { groups: Array<{ rules: Rule[] }> } }
const rules = ruleFile.spec.groups.flatMap((group) => group.rules)
const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/chat-attachments.json'), 'utf8')) as { panels: Array<{ title: string, targets: Array<{ expr: string }> }> }

/** Metric names in a PromQL expression (the service's, Node's and the process'). */
function metricNames (expr: string): string[] {
  return [...expr.matchAll(/\b((?:chat_attachments|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, ''))
}

t.test('promtool accepts the rule group of the PrometheusRule', async (t) => {
  const folder = await createTempDir(t, 'rules')
  const file = join(folder, 'rules.yaml')
  // promtool reads a plain rules file: the PrometheusRule's spec is one.
  await writeFile(file, JSON.stringify(ruleFile.spec))
  const { stdout } = await promisify(execFile)(PROMTOOL, ['check', 'rules', file])
  t.match(stdout, new RegExp(`SUCCESS: ${rules.length} rules found`))
})

t.test('every alert has a summary and a runbook line in the README', async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const wanted = ['ChatAttachmentsHigh5xxRatio', 'ChatAttachmentsSlowDownloads', 'ChatAttachmentsS3Errors',
    'ChatAttachmentsRateLimitFailingOpen', 'ChatAttachmentsCleanupNotSucceeding', 'ChatAttachmentsReadinessFlapping']
  for (const name of wanted) t.ok(rules.some((rule) => rule.alert === name), `alert ${name}`)
  for (const rule of rules) {
    t.ok(rule.annotations?.summary, `${rule.alert}: a summary`)
    const runbook = /alert (\w+)$/.exec(rule.annotations?.runbook ?? '')?.[1]
    t.ok(runbook && readme.includes(`**${runbook}**`), `${rule.alert}: its runbook (${runbook}) is in the README`)
  }
})

t.test('every metric of the dashboard and the alerts is exported', async (t) => {
  const ctx = await setup(t)
  const { app } = await build(t, ctx)
  const scraped = await scrape(app)
  const exported = new Set([...scraped.text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!))
  const cleanup = await jobMetricsText('cleanup', {
    summary: { dryRun: false, staleFound: 0, deleted: 0, failed: 0, orphansFound: 0, orphansDeleted: 0, accessEventsPruned: 0, bytesFreed: 0, durationMs: 5 },
    succeeded: true,
    skipped: false
  })
  for (const name of parseMetrics(cleanup).names()) exported.add(name)
  const queries = [
    ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ where: `panel "${panel.title}"`, expr: target.expr }))),
    ...rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr }))
  ]
  t.ok(dashboard.panels.length >= 10, `${dashboard.panels.length} panels`)
  for (const { where, expr } of queries) {
    const names = metricNames(expr)
    t.ok(names.length > 0, `${where}: names a metric`)
    for (const name of names) t.ok(exported.has(name), `${where}: ${name} is exported`)
  }
})
