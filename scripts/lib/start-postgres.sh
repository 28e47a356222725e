#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server for the tests of plugins/postgres, on 127.0.0.1 at a free
# port, with its data in a new temporary directory (fsync off: test data only), and prints the
# shell lines that point the tests at it:
#
#   eval "$(scripts/lib/start-postgres.sh)"    # sets GENKIT_TEST_POSTGRES_URL (and _PID, _DIR)
#   cargo test -p genkit-postgres
#   scripts/lib/start-postgres.sh stop         # stops the server by its PID, removes its data
#
# Needs Debian's `postgresql` package (initdb and pg_ctl under /usr/lib/postgresql/*/bin):
#   apt-get install -y postgresql
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` user the package
# creates.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/free-port.sh"

if [ "${1:-start}" = stop ]; then
  pid=${GENKIT_TEST_POSTGRES_PID:-}
  dir=${GENKIT_TEST_POSTGRES_DIR:-}
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" # fast shutdown
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  [ -n "$dir" ] && [ -d "$dir" ] && rm -rf "$dir"
  exit 0
fi

bin=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bin=$d; done
if [ -z "$bin" ]; then
  bin=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
  [ -x "$bin/initdb" ] || {
    echo "start-postgres.sh: no PostgreSQL server on this machine (no initdb)." >&2
    echo "Install it on Debian/Ubuntu (as root): apt-get update && apt-get install -y postgresql" >&2
    exit 1
  }
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/genkit-pg.XXXXXX")
as_server=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$dir"
  as_server=(runuser -u postgres --)
fi
port=$(free_port)
"${as_server[@]}" "$bin/initdb" -D "$dir/data" -U genkit --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2; exit 1;
}
# The server's socket goes in its own directory (the default one may not exist or be writable).
"${as_server[@]}" "$bin/pg_ctl" start -w -t 60 -D "$dir/data" -l "$dir/server.log" \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200" \
  >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
pid=$(head -n 1 "$dir/data/postmaster.pid")
echo "export GENKIT_TEST_POSTGRES_URL=postgres://genkit@127.0.0.1:$port/postgres"
echo "export GENKIT_TEST_POSTGRES_PID=$pid"
echo "export GENKIT_TEST_POSTGRES_DIR=$dir"
