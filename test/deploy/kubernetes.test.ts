// The deployment files: every YAML document under deploy/kubernetes/ is
// validated against the Kubernetes OpenAPI schema of its kind (the compiled
// validators shipped in kubernetes-models: offline, no schema download), then
// against the rules this service needs: configuration complete and valid,
// probes on the health routes, graceful termination, non-root pods, the CLIs
// the jobs run, the kustomization and the Dockerfile they rely on.
// The schemas accept unknown fields, so every field that matters is checked
// here by value.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import { CronJob, type ICronJob } from 'kubernetes-models/batch/v1/CronJob'
import { Job, type IJob } from 'kubernetes-models/batch/v1/Job'
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap'
import type { IContainer } from 'kubernetes-models/v1/Container'
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim'
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec'
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret'
import { Service, type IService } from 'kubernetes-models/v1/Service'
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount'
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor'
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule'
import t from 'tap'
import { parse, parseAllDocuments } from 'yaml'
import { ConfigSchema, loadConfig } from '../../src/config.js'
import { parseDuration } from '../../src/jobs/duration.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const DIR = join(ROOT, 'deploy/kubernetes')
const IMAGE = 'chat-attachments'
const CONFIG_MAP = 'chat-attachments-config'
const SECRET = 'chat-attachments-secrets'
const LABELS = { 'app.kubernetes.io/name': 'chat-attachments', 'app.kubernetes.io/part-of': 'customer-support-chat' }
const CREDENTIALS = ['DATABASE_URL', 'REDIS_URL', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'JWT_SECRET', 'JWT_PUBLIC_KEY', 'LEGACY_DATABASE_URL', 'AUDIT_IP_SALT']
/** What src/server.ts allows for closing the pools after SHUTDOWN_GRACE_MS. */
const CLOSE_MARGIN_SECONDS = 4

interface Model { validate: () => void }
const MODELS: Record<string, new (data: never) => Model> = {
  'v1 ConfigMap': ConfigMap,
  'v1 Secret': Secret,
  'v1 Service': Service,
  'v1 ServiceAccount': ServiceAccount,
  'v1 PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1 Deployment': Deployment,
  'batch/v1 Job': Job,
  'batch/v1 CronJob': CronJob,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1 PodMonitor': PodMonitor,
  'monitoring.coreos.com/v1 PrometheusRule': PrometheusRule
}

interface Manifest { file: string, where: string, object: { apiVersion?: string, kind?: string, metadata?: { name?: string, labels?: Record<string, string> } } }

const files = readdirSync(DIR).filter((name) => /\.ya?ml$/.test(name)).sort()
const manifests: Manifest[] = files.filter((file) => file !== 'kustomization.yaml').flatMap((file) => {
  // An empty document (a trailing "---") is allowed, as kubectl allows it.
  const documents = [...parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))].filter((document) => document.contents !== null)
  if (documents.length === 0) throw new Error(`${file}: no YAML document`)
  return documents.map((document, index) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`)
    return { file, where: `${file}#${index}`, object: document.toJS() }
  })
})

function one<T> (kind: string, name: string): T {
  const found = manifests.filter((m) => m.object.kind === kind && m.object.metadata?.name === name)
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`)
  return found[0]!.object as T
}

const configMap = one<IConfigMap>('ConfigMap', CONFIG_MAP)
const secret = one<ISecret>('Secret', SECRET)
const deployment = one<IDeployment>('Deployment', 'chat-attachments')
const container = deployment.spec?.template.spec?.containers[0] as IContainer
const httpPort = container.ports?.find((port) => port.name === 'http')
const metricsPort = container.ports?.find((port) => port.name === 'metrics')

/** Every pod template in every file (examples included), with where it is. */
function podTemplates (): Array<{ where: string, template: IPodTemplateSpec }> {
  return manifests.flatMap(({ where, object }) => {
    if (object.kind === 'Deployment' || object.kind === 'Job') return [{ where, template: (object as IDeployment | IJob).spec!.template }]
    if (object.kind === 'CronJob') return [{ where, template: (object as ICronJob).spec!.jobTemplate.spec!.template }]
    return []
  })
}

/** The port number a probe or Service targets, resolving a port name. */
function resolvePort (port: number | string | undefined): number | undefined {
  return typeof port === 'string' ? container.ports?.find((p) => p.name === port)?.containerPort : port
}

const command = (c: IContainer) => [...(c.command ?? []), ...(c.args ?? [])]

t.test('every document is valid against its Kubernetes schema', async (t) => {
  t.ok(manifests.length >= 8, `${manifests.length} documents found`)
  for (const { where, object } of manifests) {
    const Model = MODELS[`${object.apiVersion} ${object.kind}`]
    if (!Model) {
      t.fail(`${where}: no schema for ${object.apiVersion} ${object.kind}; add the model to MODELS`)
      continue
    }
    try {
      new Model(object as never).validate()
      t.pass(`${where}: ${object.kind} ${object.metadata?.name}`)
    } catch (err) {
      t.fail(`${where}: ${(err as Error).message}`)
    }
    t.match(object.metadata?.labels, LABELS, `${where}: common labels`)
  }
})

t.test('ConfigMap and Secret example hold every variable of .env.example, and only known ones', async (t) => {
  const documented = [...readFileSync(join(ROOT, '.env.example'), 'utf8').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!)
  const plain = Object.keys(configMap.data ?? {})
  const secrets = Object.keys(secret.stringData ?? {})
  t.ok(documented.length >= 20, `${documented.length} variables in .env.example`)
  for (const name of documented) t.ok(plain.includes(name) || secrets.includes(name), `${name} is set`)
  const known = Object.keys(ConfigSchema.properties)
  const containerEnv = podTemplates().flatMap(({ template }) => template.spec!.containers.flatMap((c) => (c.env ?? []).map((e) => e.name)))
  for (const name of [...plain, ...secrets, ...containerEnv]) t.ok(known.includes(name), `${name} is in ConfigSchema`)
  for (const name of plain) t.notOk(secrets.includes(name), `${name} is set in one place only`)
  for (const name of CREDENTIALS) t.notOk(plain.includes(name), `${name} is not in the ConfigMap`)
  for (const [name, value] of Object.entries(secret.stringData ?? {})) {
    if (value !== '') t.match(value, /CHANGE_ME/, `${name}: an obvious placeholder`)
  }
  t.same(secret.data, undefined, 'the example carries no base64 data')
  // The two together are a configuration the service accepts.
  const config = loadConfig({ ...configMap.data, ...secret.stringData })
  t.equal(config.PORT, httpPort?.containerPort, 'PORT is the container port')
})

t.test('the Deployment: probes, termination, rollout', async (t) => {
  const pod = deployment.spec!.template.spec!
  t.equal(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable, 0, 'maxUnavailable 0')
  t.ok((deployment.spec?.replicas ?? 1) >= 2, 'more than one replica')
  t.equal(pod.containers.length, 1)
  t.same(command(container), ['node', 'dist/server.js'])
  t.ok(httpPort, 'a port named http')
  t.equal(container.livenessProbe?.httpGet?.path, '/health/live')
  t.equal(container.readinessProbe?.httpGet?.path, '/health/ready')
  if (container.startupProbe) t.equal(container.startupProbe.httpGet?.path, '/health/live')
  for (const [name, probe] of Object.entries({ liveness: container.livenessProbe, readiness: container.readinessProbe, startup: container.startupProbe })) {
    if (probe) t.equal(resolvePort(probe.httpGet?.port), httpPort?.containerPort, `${name} probe on the container port`)
  }
  t.ok((container.readinessProbe?.timeoutSeconds ?? 1) > 2, 'readiness timeout above the 2 s check budget')
  // Endpoints drain while the pod still serves: a preStop sleep, or the
  // service's own drain (readiness 503, listener open SHUTDOWN_DRAIN_MS).
  const preStop = container.lifecycle?.preStop?.exec?.command ?? []
  const sleep = preStop[0] === '/bin/sleep' ? Number(preStop[1] ?? 0) : 0
  const config = loadConfig({ ...configMap.data, ...secret.stringData })
  t.ok(sleep + config.SHUTDOWN_DRAIN_MS / 1000 >= 5, `endpoints get at least 5 s to drain (preStop ${sleep} s, SHUTDOWN_DRAIN_MS ${config.SHUTDOWN_DRAIN_MS})`)
  const needed = sleep + config.SHUTDOWN_GRACE_MS / 1000 + CLOSE_MARGIN_SECONDS
  t.ok((pod.terminationGracePeriodSeconds ?? 30) > needed,
    `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > preStop ${sleep} + SHUTDOWN_GRACE_MS + ${CLOSE_MARGIN_SECONDS} s`)
})

t.test('metrics: their own container port, scraped, never behind the Service', async (t) => {
  const config = loadConfig({ ...configMap.data, ...secret.stringData })
  t.equal(metricsPort?.containerPort, config.METRICS_PORT, 'a port named metrics is METRICS_PORT')
  const annotations = deployment.spec?.template.metadata?.annotations ?? {}
  t.equal(annotations['prometheus.io/scrape'], 'true')
  t.equal(annotations['prometheus.io/port'], String(config.METRICS_PORT))
  t.equal(annotations['prometheus.io/path'], '/metrics')
  const service = one<IService>('Service', 'chat-attachments')
  t.notOk(service.spec?.ports?.some((port) => port.targetPort === 'metrics' || port.targetPort === config.METRICS_PORT), 'the Service does not expose metrics')
})

t.test('the Service and the PodDisruptionBudget select the Deployment pods', async (t) => {
  const labels = deployment.spec!.template.metadata?.labels ?? {}
  t.match(labels, deployment.spec!.selector.matchLabels, 'the Deployment selects its own pods')
  const service = one<IService>('Service', 'chat-attachments')
  t.equal(service.spec?.type ?? 'ClusterIP', 'ClusterIP')
  t.match(labels, service.spec?.selector)
  t.ok(Object.keys(service.spec?.selector ?? {}).length > 0, 'a non-empty selector')
  t.equal(service.spec?.ports?.[0]?.port, 80)
  t.equal(resolvePort(service.spec?.ports?.[0]?.targetPort), httpPort?.containerPort, 'targets the container port')
  const pdb = one<IPodDisruptionBudget>('PodDisruptionBudget', 'chat-attachments')
  t.match(labels, pdb.spec?.selector?.matchLabels)
})

t.test('every pod runs as non-root with a read-only root filesystem and bounded resources', async (t) => {
  const templates = podTemplates()
  t.ok(templates.length >= 4, 'the Deployment, the migration, the cleanup and the backfill')
  for (const { where, template } of templates) {
    const pod = template.spec!
    t.equal(pod.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`)
    t.not(pod.securityContext?.runAsUser ?? 0, 0, `${where}: runAsUser is not root`)
    t.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${where}: seccomp`)
    t.equal(pod.automountServiceAccountToken, false, `${where}: no API token`)
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      const name = `${where} ${c.name}`
      t.equal(c.securityContext?.readOnlyRootFilesystem, true, `${name}: readOnlyRootFilesystem`)
      t.equal(c.securityContext?.allowPrivilegeEscalation, false, `${name}: no privilege escalation`)
      t.ok(c.securityContext?.capabilities?.drop?.includes('ALL'), `${name}: drops ALL capabilities`)
      t.not(c.securityContext?.runAsUser, 0, `${name}: not overridden to root`)
      for (const kind of ['requests', 'limits'] as const) {
        t.ok(c.resources?.[kind]?.cpu && c.resources[kind].memory, `${name}: cpu and memory ${kind}`)
      }
      t.equal(c.image, IMAGE, `${name}: the image kustomize rewrites`)
      t.ok(c.envFrom?.some((source) => source.configMapRef?.name === CONFIG_MAP), `${name}: configuration from the ConfigMap`)
      t.ok(c.envFrom?.some((source) => source.secretRef?.name === SECRET), `${name}: credentials from the Secret`)
      // dist/<x>.js is what `npm run build` makes of src/<x>.ts.
      const script = command(c).find((arg) => arg.startsWith('dist/'))
      t.ok(script && existsSync(join(ROOT, script.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'))), `${name}: runs ${script}, built from src/`)
    }
  }
})

t.test('the migration Job', async (t) => {
  const job = one<IJob>('Job', 'chat-attachments-migrate')
  t.same(command(job.spec!.template.spec!.containers[0]!), ['node', 'dist/cli/migrate.js'])
  t.ok(job.spec?.backoffLimit !== undefined, 'backoffLimit')
  t.ok(job.spec?.ttlSecondsAfterFinished !== undefined, 'ttlSecondsAfterFinished')
  t.ok(job.spec?.activeDeadlineSeconds !== undefined, 'activeDeadlineSeconds')
  t.match(job.spec?.template.spec?.restartPolicy, /^(Never|OnFailure)$/)
})

t.test('the cleanup CronJob', async (t) => {
  const cron = one<ICronJob>('CronJob', 'chat-attachments-cleanup')
  const spec = cron.spec!
  t.equal(spec.concurrencyPolicy, 'Forbid')
  t.match(spec.schedule, /^\S+ \S+ \* \* \*$/, 'daily')
  t.ok(spec.startingDeadlineSeconds, 'startingDeadlineSeconds')
  t.ok(spec.successfulJobsHistoryLimit !== undefined && spec.failedJobsHistoryLimit !== undefined, 'history limits')
  const job = spec.jobTemplate.spec!
  t.ok(job.activeDeadlineSeconds, 'activeDeadlineSeconds')
  t.ok(job.backoffLimit !== undefined, 'backoffLimit')
  t.match(job.template.spec?.restartPolicy, /^(Never|OnFailure)$/)
  const args = command(job.template.spec!.containers[0]!)
  t.same(args.slice(0, 2), ['node', 'dist/cli/cleanup.js'])
  if (args.includes('--orphans')) {
    const age = parseDuration(configMap.data?.CLEANUP_STALE_AFTER ?? '24h') ?? 0
    t.ok(age >= 3_600_000, '--orphans needs CLEANUP_STALE_AFTER of at least 1h')
  }
})

t.test('the kustomization lists every manifest but the examples', async (t) => {
  const kustomization = parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { resources?: string[], images?: Array<{ name: string }> }
  const expected = files.filter((file) => file !== 'kustomization.yaml' && !file.endsWith('.example.yaml'))
  t.same([...(kustomization.resources ?? [])].sort(), expected)
  t.ok(kustomization.images?.some((image) => image.name === IMAGE), `images rewrites "${IMAGE}"`)
})

t.test('the Dockerfile: current LTS, non-root, one image for server and CLIs', async (t) => {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'))
  const args = new Map<string, string>()
  const stages: Array<{ from: string, lines: string[] }> = []
  for (const line of lines) {
    const [instruction = '', ...rest] = line.split(/\s+/)
    const value = rest.join(' ')
    if (/^ARG$/i.test(instruction) && stages.length === 0) {
      const [name = '', defaultValue = ''] = value.split('=')
      args.set(name, defaultValue)
    } else if (/^FROM$/i.test(instruction)) {
      const image = value.replace(/^--platform=\S+\s+/, '').split(/\s+/)[0]!
      stages.push({ from: image.replace(/\$\{?(\w+)\}?/g, (_, name: string) => args.get(name) ?? ''), lines: [] })
    } else {
      stages.at(-1)?.lines.push(line)
    }
  }
  t.ok(stages.length >= 2, 'multi-stage')
  for (const { from } of stages) t.match(from, /^node:26([.-]|$)/, `${from}: Node 26, the current LTS line`)
  const runtime = stages.at(-1)!.lines
  const user = runtime.filter((line) => /^USER\s/i.test(line)).at(-1)?.split(/\s+/)[1]
  t.match(user, /^1000(:1000)?$/, `USER ${user}: numeric, the non-root uid the manifests' runAsUser expects`)
  t.same(JSON.parse(runtime.find((line) => /^CMD\s/i.test(line))?.replace(/^CMD\s+/i, '') ?? 'null'), ['node', 'dist/server.js'])
  // The migrator reads migrations/ at run time; node_modules must be the pruned one.
  const copied = runtime.filter((line) => /^COPY\s/i.test(line)).map((line) => line.split(/\s+/).at(-1)!.replace(/^\.\//, '').replace(/\/$/, ''))
  for (const path of ['dist', 'node_modules', 'migrations']) t.ok(copied.includes(path), `the runtime stage copies ${path}`)
  t.ok(stages.some(({ lines }) => lines.some((line) => /^RUN\s.*npm (prune|ci|install)\b.*--omit=dev/i.test(line))), 'production dependencies only')
})
