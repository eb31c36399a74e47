#!/usr/bin/env bash
# Backs up or restores a nats-server's JetStream store (every stream with its messages, duplicate
# window and durable consumers' state) while that server is stopped: a stopped server's store is
# consistent. README: Operating it, Backups and restore.
#
#   deploy/jetstream-store.sh backup  STORE_DIR FILE.tar.gz [--port 4222]
#   deploy/jetstream-store.sh restore FILE.tar.gz STORE_DIR [--port 4222]
#
# STORE_DIR is the server's `store_dir` (`--store_dir`, or `jetstream { store_dir }`); the archive
# holds its `jetstream` folder. Both refuse while anything accepts connections on 127.0.0.1:PORT
# (the server still running); restore refuses a store that already holds a `jetstream` folder.
# Online, one stream at a time, the nats CLI does the same: `nats stream backup NAME DIR
# --consumers` and `nats stream restore DIR`.
set -euo pipefail

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ "$#" -ge 3 ] || usage
action="$1" from="$2" to="$3"
shift 3
port=4222
while [ "$#" -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    *) usage ;;
  esac
done

# The server must be stopped: a live store changes under the copy.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "something accepts connections on 127.0.0.1:$port: stop the nats-server first" >&2
  exit 1
fi

case "$action" in
  backup)
    [ -d "$from/jetstream" ] || { echo "no jetstream folder in $from" >&2; exit 1; }
    tmp="$to.partial"
    tar -C "$from" -czf "$tmp" jetstream
    mv "$tmp" "$to"
    echo "JetStream store of $from archived to $to"
    ;;
  restore)
    [ -f "$from" ] || { echo "no archive $from" >&2; exit 1; }
    if [ -e "$to/jetstream" ]; then
      echo "$to already holds a jetstream folder: move it aside first" >&2
      exit 1
    fi
    mkdir -p "$to"
    tar -C "$to" -xzf "$from"
    echo "JetStream store restored into $to from $from"
    ;;
  *) usage ;;
esac
