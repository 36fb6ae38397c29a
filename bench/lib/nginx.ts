// The fast S3-protocol origin for reads: nginx (Debian's package) serving the
// local S3 server's data folder path-style. s3rver keeps object <key> of
// <bucket> in the file <dir>/<bucket>/<key>._S3rver_object, so GET and HEAD
// /<bucket>/<key> map onto that file; nginx answers Range (206, 416) and
// If-None-Match / If-Modified-Since (304) for static files itself, with its
// own ETag. Signatures and query strings (x-id=GetObject) are ignored, and
// HEAD /<bucket> (HeadBucket, the service's readiness check) answers 200.
// Uploads still go to s3rver; nginx reads the same files.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { onCores, type CorePlan } from './cores.js'
import { freePort, sleep, stopChild, type Child, type Cleanup } from './infra.js'

const CANDIDATES = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx']

export function findNginx (): string {
  const found = CANDIDATES.find((path) => existsSync(path))
  if (!found) throw new Error(`nginx not found (looked at ${CANDIDATES.join(', ')}); install it with: bash scripts/setup-system.sh (Debian package nginx-light)`)
  return found
}

export async function startNginx (o: { binary: string, dataDir: string, bucket: string, workDir: string, plan: CorePlan, cleanup: Cleanup }): Promise<Child & { endpoint: string }> {
  const prefix = join(o.workDir, 'nginx')
  await mkdir(prefix, { recursive: true })
  const port = await freePort()
  const temp = (name: string) => `${name}_temp_path ${join(prefix, name)};`
  // One process (no master, so no switch to another user that could not
  // read the bench's private temp folder), sendfile, no access log, and
  // connections kept open as long as the load generator and the SDK's
  // agents want them.
  const config = `
daemon off;
master_process off;
worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  default_type application/octet-stream;
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
  server {
    listen 127.0.0.1:${port};
    root ${o.dataDir};
    location = /${o.bucket} { return 200; }
    location = /${o.bucket}/ { return 200; }
    location /${o.bucket}/ {
      limit_except GET { deny all; }
      try_files $uri._S3rver_object =404;
    }
    location / { return 404; }
  }
}
`
  const configFile = join(prefix, 'nginx.conf')
  await writeFile(configFile, config)
  const [command, args] = onCores(o.plan, 'load', o.binary, ['-p', prefix, '-e', join(prefix, 'error.log'), '-c', configFile])
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  o.cleanup.add('nginx', () => stopChild(child))
  const endpoint = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}; see ${join(prefix, 'error.log')}`)
    const res = await fetch(`${endpoint}/${o.bucket}`, { method: 'HEAD' }).catch(() => undefined)
    if (res?.status === 200) return { pid: child.pid!, process: child, endpoint }
    await sleep(100)
  }
  throw new Error('nginx did not answer within 10 s')
}
