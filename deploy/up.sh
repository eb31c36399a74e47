#!/usr/bin/env bash
# The one command that installs what is missing and runs Evently on this machine: PostgreSQL and
# nats-server >= 2.10 (deploy/ensure-services.sh), then `evently up`, which starts private
# instances of both under .evently/ unless DATABASE_URL / NATS_URL are set, migrates, applies the
# streams, and runs the gateway (EVENTLY_HTTP_ADDR, default 127.0.0.1:8080) and every consumer
# until Ctrl-C. Extra arguments go to `evently up`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
data_dir="${EVENTLY_DATA_DIR:-$root/.evently}"

bash deploy/ensure-services.sh
if [ -z "${EVENTLY_NATS_SERVER:-}" ] && [ -x "$data_dir/tools/bin/nats-server" ]; then
  export EVENTLY_NATS_SERVER="$data_dir/tools/bin/nats-server"
fi
exec cargo run --release --bin evently -- up "$@"
