#!/usr/bin/env bash
# Throughput of Envoy with the threescale-wasm-auth filter (authorizing every
# request with the 3scale simulator) divided by the same Envoy without the
# filter, both measured in this one run with wrk against envoy/bench.yaml.
#
#   scripts/bench.sh                 build what is missing, install wrk, measure
#   scripts/bench.sh --no-build      use THREESCALE_WASM, THREESCALE_SIM, ENVOY_BIN as they are
#
# Settings (environment): BENCH_DURATION (default 10s), BENCH_CONNECTIONS (16).
set -euo pipefail

cd "$(dirname "$0")/.."

FILTERED=127.0.0.1:18100
PLAIN=127.0.0.1:18101
ADMIN=127.0.0.1:19100
BACKEND=127.0.0.1:18181
UPSTREAM=127.0.0.1:18182
BASELINE=127.0.0.1:18201
BASELINE_ADMIN=127.0.0.1:19201
DEFAULT_WASM=target/threescale_wasm_auth.wasm
MODEL=examples/sim.yaml
# An application of examples/sim.yaml without limits.
CREDENTIALS=app_id=open-app

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

duration=${BENCH_DURATION:-10s}
connections=${BENCH_CONNECTIONS:-16}
run_dir=${BENCH_RUN_DIR:-.run/bench}
wasm=${THREESCALE_WASM:-$DEFAULT_WASM}
sim=${THREESCALE_SIM:-target/release/threescale-sim}
envoy=${ENVOY_BIN:-.venv/bin/envoy}

missing=()
for tool in wrk curl; do command -v "$tool" > /dev/null || missing+=("$tool"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "== installing ${missing[*]} (Debian packages)"
  sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq "${missing[@]}" > /dev/null
fi
if [[ $build == 1 ]]; then
  echo "== building the filter and the simulator (release), installing Envoy"
  make --no-print-directory build envoy
  cargo build --quiet --release --bin threescale-sim
fi
SCRIPT=bench.sh
source scripts/processes.sh
require_files "run without --no-build" "$wasm" "$sim" "$envoy" "$MODEL"
mkdir -p "$run_dir"
trap 'exit 130' INT TERM
config=$(config_for_wasm envoy/bench.yaml "$DEFAULT_WASM" "$wasm")

"$sim" --listen "$BACKEND" --upstream-listen "$UPSTREAM" --config "$MODEL" > "$run_dir/sim.log" 2>&1 &
started $!
wait_for "the simulator" grep -q "upstream listening on" "$run_dir/sim.log"
"$envoy" -c "$config" --concurrency 1 --disable-hot-restart --log-level warn > "$run_dir/envoy.log" 2>&1 &
envoy_pid=$!
started $envoy_pid
wait_for "Envoy" curl --silent --fail "http://$ADMIN/ready"
# The memory baseline: an Envoy with the plain listener only and no Wasm at all.
"$envoy" -c envoy/bench-baseline.yaml --concurrency 1 --disable-hot-restart \
  --log-level warn > "$run_dir/envoy-baseline.log" 2>&1 &
baseline_pid=$!
started $baseline_pid
wait_for "the baseline Envoy" curl --silent --fail "http://$BASELINE_ADMIN/ready"

# Both listeners must answer 200 before anything is measured.
for listener in "$FILTERED" "$PLAIN" "$BASELINE"; do
  status=$(curl --silent -o /dev/null -w '%{http_code}' "http://$listener/?$CREDENTIALS")
  [[ $status == 200 ]] || { echo "bench.sh: http://$listener/ answered $status, not 200" >&2; exit 1; }
done

# requests_per_second LISTENER: runs wrk once and prints its Requests/sec.
requests_per_second() {
  local output
  output=$(wrk --threads 1 --connections "$connections" --duration "$duration" \
    "http://$1/?$CREDENTIALS")
  echo "$output" > "$run_dir/wrk-$1.txt"
  if grep -q "Non-2xx" <<< "$output"; then
    echo "bench.sh: some answers to $1 were not 2xx:" >&2
    echo "$output" >&2
    exit 1
  fi
  awk '/^Requests\/sec:/ { print $2 }' <<< "$output"
}

echo "== wrk: $connections connections for $duration on each listener"
plain=$(requests_per_second "$PLAIN")
filtered=$(requests_per_second "$FILTERED")
echo "without the filter: $plain requests/s"
echo "with the filter:    $filtered requests/s (each one authorized with the simulator)"
awk -v f="$filtered" -v p="$plain" 'BEGIN { printf "ratio (with / without): %.3f\n", f / p }'

# Memory, after the load: resident set of each Envoy process, and the heap Envoy
# itself reports (server.memory_allocated), with the filter loaded and without.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
heap_bytes() { curl --silent "http://$1/stats?filter=^server\.memory_allocated$" | awk '{ print $2 }'; }
wrk --threads 1 --connections "$connections" --duration 2s "http://$BASELINE/?$CREDENTIALS" > /dev/null
with_rss=$(rss_kib "$envoy_pid")
without_rss=$(rss_kib "$baseline_pid")
with_heap=$(heap_bytes "$ADMIN")
without_heap=$(heap_bytes "$BASELINE_ADMIN")
echo "Envoy RSS with the filter loaded: $with_rss KiB; without any filter: $without_rss KiB"
echo "Envoy heap with the filter loaded: $with_heap bytes; without any filter: $without_heap bytes"
awk -v a="$with_rss" -v b="$without_rss" 'BEGIN { printf "RSS ratio (with / without): %.3f\n", a / b }'
echo "wasm module: $(stat -c %s "$wasm") bytes"
