// Scrapes a /metrics endpoint over a real socket and reads samples from the
// Prometheus text format, for tests that check counters move.
import type { FastifyInstance } from 'fastify'

export type Labels = Record<string, string>

export interface Scrape {
  text: string
  /** The value of the sample with exactly these labels (0 when absent). */
  value (name: string, labels?: Labels): number
  /** Every metric family name with at least one sample. */
  names (): Set<string>
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/

function parseLabels (text: string | undefined): Labels {
  const labels: Labels = {}
  for (const match of (text ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]!] = match[2]!
  return labels
}

export function parseMetrics (text: string): Scrape {
  const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => {
    const match = SAMPLE.exec(line)
    if (!match) throw new Error(`not a sample line: ${line}`)
    return { name: match[1]!, labels: parseLabels(match[2]), value: Number(match[3]) }
  })
  return {
    text,
    value (name, labels = {}) {
      const wanted = Object.entries(labels)
      const found = samples.find((s) => s.name === name && Object.keys(s.labels).length === wanted.length &&
        wanted.every(([key, value]) => s.labels[key] === value))
      return found?.value ?? 0
    },
    names () {
      return new Set(samples.map((s) => s.name.replace(/_(bucket|sum|count)$/, '')).concat(samples.map((s) => s.name)))
    }
  }
}

export function metricsUrl (app: FastifyInstance): string {
  const { port } = app.metricsAddress()
  return `http://127.0.0.1:${port}/metrics`
}

export async function scrape (app: FastifyInstance): Promise<Scrape> {
  const res = await fetch(metricsUrl(app))
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`)
  return parseMetrics(await res.text())
}
