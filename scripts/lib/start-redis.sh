#!/usr/bin/env bash
# Starts a throw-away Redis server for the tests of plugins/redis, on 127.0.0.1 at a free port,
# without persistence, and prints the shell lines that point the tests at it:
#
#   eval "$(scripts/lib/start-redis.sh)"    # sets GENKIT_TEST_REDIS_URL (and _PID, _DIR)
#   cargo test -p genkit-redis
#   scripts/lib/start-redis.sh stop         # stops the server by its PID
#
# Needs Debian's `redis-server` package: apt-get install -y redis-server
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/free-port.sh"

if [ "${1:-start}" = stop ]; then
  pid=${GENKIT_TEST_REDIS_PID:-}
  dir=${GENKIT_TEST_REDIS_DIR:-}
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  [ -n "$dir" ] && [ -d "$dir" ] && rm -rf "$dir"
  exit 0
fi

command -v redis-server >/dev/null 2>&1 || {
  echo "start-redis.sh: no Redis server on this machine (no redis-server)." >&2
  echo "Install it on Debian/Ubuntu (as root): apt-get update && apt-get install -y redis-server" >&2
  exit 1
}
dir=$(mktemp -d "${TMPDIR:-/tmp}/genkit-redis.XXXXXX")
port=$(free_port)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
  --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
for _ in $(seq 1 100); do
  [ -s "$dir/redis.pid" ] && redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$port" ping >/dev/null 2>&1 || { cat "$dir/redis.log" >&2; exit 1; }
echo "export GENKIT_TEST_REDIS_URL=redis://127.0.0.1:$port/"
echo "export GENKIT_TEST_REDIS_PID=$(cat "$dir/redis.pid")"
echo "export GENKIT_TEST_REDIS_DIR=$dir"
