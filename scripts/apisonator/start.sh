#!/usr/bin/env bash
# Starts redis and apisonator's listener (puma) on free 127.0.0.1 ports, after
# install.sh. Writes $APISONATOR_STATE/run/env (APISONATOR_URL and the internal
# API credentials, shell syntax) and the pid files stop.sh uses.
#
# APISONATOR_INLINE_JOBS=1 (the default here) runs report jobs inside the
# listener, so usage is committed before a report's 202; 0 starts the resque
# worker instead (asynchronous, as in production).
set -euo pipefail
source "$(dirname "$0")/common.sh"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {
  local what=$1 log=$2; shift 2
  for _ in $(seq 150); do "$@" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "apisonator: $what did not come up; its log ends with:" >&2
  tail -n 40 "$log" >&2 || true
  exit 1
}

[ -d "$SRC_DIR/apisonator" ] || { echo "apisonator: run scripts/apisonator/install.sh first" >&2; exit 1; }
mkdir -p "$RUN_DIR"
inline=${APISONATOR_INLINE_JOBS:-1}
port=${APISONATOR_PORT:-$(free_port)}
redis_port=${APISONATOR_REDIS_PORT:-$(free_port)}
user=${APISONATOR_INTERNAL_USER:-system_app}
password=${APISONATOR_INTERNAL_PASSWORD:-secret}

export BUNDLE_GEMFILE=$STATE/gems/Gemfile CONFIG_FILE=$SHIM/3scale_backend.conf RACK_ENV=development \
  RUBYLIB=$SRC_DIR/apisonator/lib:$SRC_DIR/resque/lib RUBYOPT=-r$SHIM/compat.rb \
  APISONATOR_REDIS_PORT=$redis_port APISONATOR_INLINE_JOBS=$inline \
  APISONATOR_INTERNAL_USER=$user APISONATOR_INTERNAL_PASSWORD=$password

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
  --pidfile "$RUN_DIR/redis.pid" --logfile "$RUN_DIR/redis.log" --dir "$RUN_DIR"
wait_for redis "$RUN_DIR/redis.log" redis-cli -p "$redis_port" ping

cd "$SRC_DIR/apisonator"
# RACK_ENV=development: production adds an error catcher and drops the default
# redis URL; nothing the transactions API answers changes.
puma -b "tcp://127.0.0.1:$port" -t 1:4 -e development "$SHIM/config.ru" \
  >"$RUN_DIR/listener.log" 2>&1 &
echo $! >"$RUN_DIR/listener.pid"
if [ "$inline" != 1 ]; then
  ruby bin/3scale_backend_worker --debug >"$RUN_DIR/worker.log" 2>&1 &
  echo $! >"$RUN_DIR/worker.pid"
fi
wait_for "the listener on port $port" "$RUN_DIR/listener.log" curl -sf "http://127.0.0.1:$port/status"

cat >"$RUN_DIR/env" <<ENV
APISONATOR_URL=http://127.0.0.1:$port
APISONATOR_REDIS_PORT=$redis_port
APISONATOR_INTERNAL_USER=$user
APISONATOR_INTERNAL_PASSWORD=$password
ENV
echo "apisonator: listening on http://127.0.0.1:$port (redis on $redis_port, inline jobs: $inline)"
