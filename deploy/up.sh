#!/usr/bin/env bash
# The one command that installs what is missing and runs Evently on this machine: PostgreSQL and
# a nats-server >= 2.10 (deploy/ensure-services.sh), then `evently up` with EVENTLY_NATS_SERVER
# exported. Without DATABASE_URL / NATS_URL, `evently up` starts a private PostgreSQL (port 15432)
# and nats-server (port 14222) under .evently/, migrates, applies the streams, and runs the gateway
# (EVENTLY_HTTP_ADDR, default 127.0.0.1:8080) and every consumer until Ctrl-C.
# Before that it builds the web app when it is missing or stale (deploy/web.sh build: npm ci, vite
# build; installs Node when there is none), which the gateway serves at /. If that build fails,
# Evently still starts (the API works; / says how to build the app); EVENTLY_WEB_BUILD=0 skips it.
# Extra arguments go to `evently up`, e.g. `deploy/up.sh --demo` to fill a fresh instance with
# demo data.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

services="$(bash deploy/ensure-services.sh)"
set -a
eval "$services"
set +a

if [ "${EVENTLY_WEB_BUILD:-1}" != "0" ]; then
  if ! bash deploy/web.sh build; then
    echo "up: the web app did not build (see above): starting Evently without it; / will say how to build it" >&2
  fi
fi

exec cargo run --release --bin evently -- up "$@"
