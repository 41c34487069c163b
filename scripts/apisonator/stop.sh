#!/usr/bin/env bash
# Stops what start.sh started (by the pids it recorded), and only that.
set -uo pipefail
source "$(dirname "$0")/common.sh"
for name in listener worker redis; do
  pidfile=$RUN_DIR/$name.pid
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
done
rm -f "$RUN_DIR/env"
