#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster for tests and benchmarks, on loopback, run by an unprivileged user.
#   scripts/pg-test-server.sh start [PORT]   init + start, prints the URL (postgres://creatorflow@127.0.0.1:PORT/creatorflow)
#   scripts/pg-test-server.sh stop  [PORT]   stop and delete the cluster
# Set PGTEST_FSYNC=on for benchmarks (tests run with fsync off: their data is thrown away anyway).
set -euo pipefail
cmd=${1:-start}
port=${2:-${PGTEST_PORT:-55432}}
dir=/tmp/creatorflow-pgtest-$port
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -x "$bin/initdb" ] || { echo "pg-test-server: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

# initdb refuses to run as root: use the Debian 'postgres' user then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
start)
  if [ -f "$dir/data/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "postgres://creatorflow@127.0.0.1:$port/creatorflow"; exit 0
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -U creatorflow -A trust -E UTF8 --no-sync >"$dir.initdb.log" 2>&1 \
    || { cat "$dir.initdb.log" >&2; exit 1; }
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=${PGTEST_FSYNC:-off} -c max_connections=200 -c shared_buffers=256MB" >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U creatorflow creatorflow
  echo "postgres://creatorflow@127.0.0.1:$port/creatorflow"
  ;;
stop)
  if [ -d "$dir/data" ]; then as_pg "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir" "$dir.initdb.log"
  ;;
*) echo "usage: $0 start|stop [PORT]" >&2; exit 2 ;;
esac
