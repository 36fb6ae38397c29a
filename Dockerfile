# syntax=docker/dockerfile:1
# One image for the service and its CLIs (migrate; cleanup and backfill).
# Built on the current Node.js LTS line.
ARG NODE_IMAGE=node:26-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
# Files stay owned by root: the service user can read them, never change them.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY migrations ./migrations
# Numeric, so Kubernetes can verify runAsNonRoot without a runAsUser.
USER 1000:1000
# Stack traces point into src/ (dist/ ships its source maps).
# --max-semi-space-size=4 (MiB): V8 otherwise lets each half of the young
# generation grow to 16 MiB while the service starts and keeps all 32 MiB
# resident for good; with 4 the idle RSS is ~25 MiB lower, and a small read
# costs 10-15% less CPU than with 2 for ~3 MiB more (README "Memory").
# The bench runs the service with these same settings, read from this file.
ENV NODE_OPTIONS="--enable-source-maps --max-semi-space-size=4"
# glibc gives every thread that allocates its own malloc arena and keeps
# freed memory in them: with libvips decoding on several threads, 20 photos
# previewed at once left the process ~230 MiB larger for good, against
# ~40 MiB with two arenas (bench/previews.ts).
ENV MALLOC_ARENA_MAX=2
# 3000: the API; 9464: /metrics (METRICS_PORT), kept off the public port.
EXPOSE 3000 9464
# On SIGTERM readiness turns 503, the listener drains for SHUTDOWN_DRAIN_MS,
# then closes; requests in flight get until SHUTDOWN_GRACE_MS (plugins/shutdown.ts).
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
