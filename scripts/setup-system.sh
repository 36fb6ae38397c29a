#!/usr/bin/env bash
# Installs and starts what the tests and the benchmark need from the system,
# on a Debian machine: PostgreSQL, Redis, Chromium (browser test), clamd
# (malware gate), heif-enc (HEIC fixtures), exiftool (an independent EXIF
# reader), promtool (alert rules), nginx (benchmark origin) and python3 (its
# zipfile is an independent ZIP reader for the archive tests).
#
# Idempotent and quick when everything is there: apt runs only for what is
# missing. `npm test` runs it first (pretest) and .ci/run calls it, so the
# README and CI cannot drift. Needs root or sudo only when something is missing.
set -euo pipefail

declare -A PACKAGES=(
  [pg_ctlcluster]="postgresql postgresql-client"
  [redis-server]="redis-server"
  [chromium]="chromium"
  [clamd]="clamav-daemon"
  [heif-enc]="libheif-examples"
  [exiftool]="libimage-exiftool-perl"
  [promtool]="prometheus"
  [nginx]="nginx-light"
  [python3]="python3"
)

have () { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }

as_root () {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else
    echo "setup-system: '$*' needs root; run this script as root or install sudo" >&2
    exit 1
  fi
}

missing=()
for command in "${!PACKAGES[@]}"; do
  have "$command" || missing+=(${PACKAGES[$command]})
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-system: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  # No recommends: prometheus would pull in a running server, nginx a default site.
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # A fresh cluster asks for passwords over TCP; trust loopback as the
  # development machines do (tests connect as postgres without a password).
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    [ -f "$hba" ] || continue
    as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/; s/^(local\s+all\s+(postgres|all)\s+)\S+/\1trust/' "$hba"
  done
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  cluster=$(ls /etc/postgresql | head -1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$cluster" main start ||
    as_root pg_ctlcluster --skip-systemctl-redirect "$cluster" main restart
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "setup-system: PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "setup-system: Redis does not answer on 127.0.0.1:6379" >&2; exit 1; }

# The tests create one throw-away database per file next to this one.
db=$(node -e 'console.log(new URL(process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test").pathname.slice(1))')
if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
  createdb -h 127.0.0.1 -U postgres "$db"
fi
