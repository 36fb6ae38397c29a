// A GET read as fast as it comes, while a process's RSS is sampled: the
// peak over the whole answer. Shared by the export benchmark and its smaller
// twin in the test suite (test/routes/archive-memory.test.ts). No imports
// beyond Node, so the tests can use it as it is.
import { get as httpGet } from 'node:http'

export interface SampledDownload {
  status: number
  bytes: number
  /** Highest RSS sampled while the answer streamed, bytes. */
  peakRss: number
  seconds: number
}

export async function sampledDownload (url: string, headers: Record<string, string>, readRss: () => Promise<number>, intervalMs = 100): Promise<SampledDownload> {
  let peakRss = 0
  const sampling = { on: true }
  const sampler = (async () => {
    while (sampling.on) {
      peakRss = Math.max(peakRss, await readRss())
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  })()
  const started = performance.now()
  try {
    const result = await new Promise<{ status: number, bytes: number }>((resolve, reject) => {
      httpGet(url, { headers, agent: false }, (res) => {
        let bytes = 0
        res.on('data', (chunk: Buffer) => { bytes += chunk.length })
        res.once('end', () => resolve({ status: res.statusCode ?? 0, bytes }))
        res.once('error', reject)
      }).once('error', reject)
    })
    return { ...result, peakRss, seconds: (performance.now() - started) / 1000 }
  } finally {
    sampling.on = false
    await sampler
  }
}
