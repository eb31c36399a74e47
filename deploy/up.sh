#!/usr/bin/env bash
# The one command that installs what is missing and runs Evently on this machine: PostgreSQL and
# a nats-server >= 2.10 (deploy/ensure-services.sh), then `evently up` with EVENTLY_NATS_SERVER
# exported. Without DATABASE_URL / NATS_URL, `evently up` starts a private PostgreSQL (port 15432)
# and nats-server (port 14222) under .evently/, migrates, applies the streams, and runs the gateway
# (EVENTLY_HTTP_ADDR, default 127.0.0.1:8080) and every consumer until Ctrl-C.
# Extra arguments go to `evently up`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

services="$(bash deploy/ensure-services.sh)"
set -a
eval "$services"
set +a

exec cargo run --release --bin evently -- up "$@"
