#!/usr/bin/env bash
# A throwaway local PostgreSQL cluster for development and tests.
#
#   local_postgres.sh start   DIR [PORT]   initdb DIR if needed, start it, create db stockdb, print the URL
#   local_postgres.sh stop    DIR          stop it (fast shutdown)
#   local_postgres.sh restart DIR          crash-restart it (pg_ctl restart -m immediate)
#   local_postgres.sh url     DIR          print the URL of a cluster started before
#
# The cluster listens on 127.0.0.1:PORT (default 54329; PG_LISTEN=ADDRESS picks
# another loopback address) and on a socket inside DIR, trusts local connections and has superuser "postgres". Run as root, the
# server runs as the postgres user (initdb refuses root). Not for production:
# fsync is off.
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
usage() { echo "usage: $0 start|stop|restart|url DIR [PORT]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
cmd="$1"
dir="$(realpath -m "$2")"
port="${3:-54329}"
listen="${PG_LISTEN:-127.0.0.1}"
data="$dir/data"

as_owner() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
url() { echo "postgresql://postgres@$(cat "$dir/host" 2>/dev/null || echo 127.0.0.1):$(cat "$dir/port")/stockdb"; }

case "$cmd" in
  start)
    mkdir -p "$dir"
    if [[ "$(id -u)" == 0 ]]; then
      chown postgres: "$dir"
      runuser -u postgres -- test -w "$dir" ||
        { echo "$0: user postgres cannot reach $dir (a parent directory is private?)" >&2; exit 1; }
    fi
    if [[ ! -f "$data/PG_VERSION" ]]; then
      as_owner "$PG_BIN/initdb" --pgdata="$data" --username=postgres --auth=trust \
        --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
      cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '$listen'
port = $port
unix_socket_directories = '$dir'
fsync = off
full_page_writes = off
max_connections = 100
CONF
      echo "$port" >"$dir/port"
      echo "$listen" >"$dir/host"
      if [[ "$(id -u)" == 0 ]]; then chown postgres: "$dir/port" "$dir/host"; fi
    fi
    as_owner "$PG_BIN/pg_ctl" --pgdata="$data" --log="$dir/server.log" --wait --timeout=60 \
      start >/dev/null || { tail -n 20 "$dir/server.log" >&2; exit 1; }
    p="$(cat "$dir/port")"
    if ! "$PG_BIN/psql" -h "$dir" -p "$p" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'stockdb'" | grep -q 1; then
      "$PG_BIN/createdb" -h "$dir" -p "$p" -U postgres stockdb
    fi
    url
    ;;
  stop)
    [[ -f "$data/postmaster.pid" ]] || exit 0
    as_owner "$PG_BIN/pg_ctl" --pgdata="$data" --mode=fast --wait stop >/dev/null
    ;;
  restart)
    as_owner "$PG_BIN/pg_ctl" --pgdata="$data" --log="$dir/server.log" --mode=immediate --wait \
      --timeout=60 restart >/dev/null
    ;;
  url)
    url
    ;;
  *) usage ;;
esac
