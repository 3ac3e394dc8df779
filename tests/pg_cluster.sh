#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite and the benchmarks.
#
#   url=$(tests/pg_cluster.sh start)   # prints postgresql://USER@127.0.0.1:PORT/esimdesk_test
#   tests/pg_cluster.sh stop           # stops it and deletes its data directory
#   tests/pg_cluster.sh status
#
# The cluster lives in a fresh temp dir, listens on 127.0.0.1 only (first free
# port from $ESIMDESK_PG_PORT, default 55432), trusts loopback connections and
# runs without fsync (test data only). As root, the server runs as the
# `postgres` account (created if missing), since PostgreSQL refuses root.
# The state (data dir, port, URL) is kept in $ESIMDESK_PG_STATE (default
# ${TMPDIR:-/tmp}/esimdesk-pg-cluster.env), so several clusters can coexist
# with different state files.
set -euo pipefail

STATE=${ESIMDESK_PG_STATE:-${TMPDIR:-/tmp}/esimdesk-pg-cluster.env}
DBNAME=${ESIMDESK_PG_DBNAME:-esimdesk_test}

find_bin() {
  local dir
  if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/initdb" ]; then echo "$PG_BINDIR"; return 0; fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
  return 1
}

port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$OWNER" -- "$@"
  else
    "$@"
  fi
}

start() {
  local bindir
  if ! bindir=$(find_bin); then
    echo "pg_cluster: PostgreSQL server binaries not found (install the postgresql package)" >&2
    exit 3
  fi
  if [ -f "$STATE" ]; then
    # shellcheck disable=SC1090
    . "$STATE"
    if [ -n "${PGDATA:-}" ] && [ -f "$PGDATA/postmaster.pid" ]; then
      echo "$URL"
      return 0
    fi
    rm -f "$STATE"
  fi
  if [ "$(id -u)" -eq 0 ]; then
    OWNER=postgres
    if ! id "$OWNER" >/dev/null 2>&1; then
      useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin "$OWNER"
    fi
  else
    OWNER=$(id -un)
  fi
  local base port
  base=$(mktemp -d "${TMPDIR:-/tmp}/esimdesk-pg.XXXXXX")
  chmod 755 "$base"
  mkdir -p "$base/data" "$base/sock"
  [ "$(id -u)" -eq 0 ] && chown -R "$OWNER" "$base"
  port=${ESIMDESK_PG_PORT:-55432}
  while port_busy "$port"; do port=$((port + 1)); done
  as_owner "$bindir/initdb" -D "$base/data" -U "$OWNER" -A trust -E UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1 \
    || as_owner "$bindir/initdb" -D "$base/data" -U "$OWNER" -A trust -E UTF8 --locale=C >"$base/initdb.log" 2>&1 \
    || { echo "pg_cluster: initdb failed; see $base/initdb.log" >&2; exit 3; }
  cat >>"$base/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$base/sock'
fsync = ${ESIMDESK_PG_FSYNC:-off}
synchronous_commit = ${ESIMDESK_PG_FSYNC:-off}
full_page_writes = ${ESIMDESK_PG_FSYNC:-off}
max_connections = 200
shared_buffers = 64MB
EOF
  if ! as_owner "$bindir/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 30 start >/dev/null; then
    echo "pg_cluster: server did not start; see $base/server.log" >&2
    exit 3
  fi
  as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$OWNER" "$DBNAME"
  URL="postgresql://$OWNER@127.0.0.1:$port/$DBNAME"
  {
    echo "PGBASE=$base"
    echo "PGDATA=$base/data"
    echo "PGPORT=$port"
    echo "PGBINDIR=$bindir"
    echo "OWNER=$OWNER"
    echo "URL=$URL"
  } >"$STATE"
  echo "$URL"
}

stop() {
  if [ ! -f "$STATE" ]; then
    return 0
  fi
  # shellcheck disable=SC1090
  . "$STATE"
  if [ -f "$PGDATA/postmaster.pid" ]; then
    as_owner "$PGBINDIR/pg_ctl" -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  case "$PGBASE" in
    */esimdesk-pg.*) rm -rf "$PGBASE" ;;
  esac
  rm -f "$STATE"
}

status() {
  if [ -f "$STATE" ]; then
    # shellcheck disable=SC1090
    . "$STATE"
    if [ -f "$PGDATA/postmaster.pid" ]; then echo "running $URL"; return 0; fi
  fi
  echo "stopped"
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
