#!/usr/bin/env bash
# `make wasm-profile`: where a request's instructions go in the module's code as V8 runs
# it, function by function. Neither callgrind nor perf can name the code V8 generates in
# Envoy, so this runs the filter's core the way `make bench-core` does under Node
# (bench/core built for wasm32-wasip1, a plain-data host with its cache already filled,
# one configuration of `make bench-scale`), with function names kept (`wasm-opt -g`), V8
# compiling every function with TurboFan only (`--no-liftoff`: Envoy's V8, through
# proxy-wasm-cpp-host, runs with Liftoff off) and writing the address range of each
# (`--perf-basic-prof`), under callgrind counting instructions per address. Two runs,
# of N and 2N requests; the difference over N, per function, is what one request costs
# there (reading the configuration and the warm-up drop out). The shell (src/filter/)
# and Envoy's host calls are not in it: `make bench-instr` counts those.
#
#   scripts/wasm-profile.sh [ID]     ID: a configuration of bench-scale (base, the default;
#                                    svc, r1k, r10k, pad), or one of `make bench`'s:
#                                    cached (its (c), envoy/bench-cache.yaml) or
#                                    uncached (its (b), envoy/bench.yaml)
#
# Settings (environment): WASM_PROFILE_OPT_LEVELS, the opt-levels to build and compare,
# one column each ("s", the release profile's; e.g. "s z 3"), BENCH_REQUESTS (N, 10000),
# BENCH_RUN_DIR (.run/wasm-profile). Installs valgrind and nodejs with apt-get if missing.
set -euo pipefail

cd "$(dirname "$0")/.."
SCRIPT=wasm-profile.sh
source scripts/processes.sh

id=${1:-base}
case "$id" in
  base | svc | r1k | r10k | pad | cached | uncached) ;;
  -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "wasm-profile.sh: unknown configuration '$id' (try --help)" >&2; exit 2 ;;
esac
read -r -a levels <<< "${WASM_PROFILE_OPT_LEVELS:-s}"
requests=${BENCH_REQUESTS:-10000}
require_whole_numbers requests
run_dir=$(realpath -m "${BENCH_RUN_DIR:-.run/wasm-profile}")
mkdir -p "$run_dir"

install_missing valgrind
install_node
make --no-print-directory wasm-target wasm-opt
BENCH_RUN_DIR=$run_dir scripts/bench-scale.sh --configs-only > /dev/null

# bench_case ID ENVOY_CONFIG: `make bench`'s plugin configuration (the JSON block under
# `value: |` in ENVOY_CONFIG) as bench-core's configuration ID, with the request
# `make bench` sends (`/`, the application id in the query, which bench-core adds).
bench_case() {
  awk '/value: \|/ { indent = index($0, "v"); inside = 1; next }
       inside && (length($0) == 0 || match($0, /[^ ]/) > indent) { print; next }
       { inside = 0 }' "$2" > "$run_dir/bench-scale-$1.plugin.json"
  echo "localhost /" > "$run_dir/bench-scale-$1.request"
}
bench_case cached envoy/bench-cache.yaml
bench_case uncached envoy/bench.yaml

# build LEVEL: bench-core for wasm32-wasip1 at opt-level LEVEL, optimized by wasm-opt as
# the module is, with its function names; prints the module's path.
build() {
  local target_dir=target/wasm-profile/$1
  CARGO_PROFILE_RELEASE_OPT_LEVEL=$1 CARGO_PROFILE_RELEASE_STRIP=false \
    cargo build --quiet --release -p bench-core --target wasm32-wasip1 --target-dir "$target_dir"
  wasm-opt $(make --no-print-directory -s print-wasm-opt-flags) -g --strip-dwarf \
    "$target_dir/wasm32-wasip1/release/bench-core.wasm" -o "$run_dir/bench-core-$1.wasm"
  echo "$run_dir/bench-core-$1.wasm"
}

# count MODULE REQUESTS OUT: callgrind's per-address counts of one run in OUT.callgrind,
# V8's map of the functions it compiled in OUT.map.
count() {
  local pid
  # In the run directory: V8 leaves a log file per isolate where it runs.
  (cd "$run_dir" && exec valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file="$3.callgrind" \
    node --no-warnings --no-liftoff --perf-basic-prof "$OLDPWD/bench/core/wasi.mjs" "$1" "$run_dir" \
    --rounds 1 --requests "$2" "$id" > /dev/null 2> "$3.log") &
  pid=$!
  wait "$pid"
  mv "/tmp/perf-$pid.map" "$3.map"
}

specs=()
for level in "${levels[@]}"; do
  echo "== opt-level $level: building bench-core for wasm32-wasip1, counting ($id; $requests and $((2 * requests)) requests)"
  module=$(build "$level")
  count "$module" "$requests" "$run_dir/$level-short"
  count "$module" $((2 * requests)) "$run_dir/$level-long"
  specs+=("$level:$run_dir/$level-short.callgrind:$run_dir/$level-short.map:$run_dir/$level-long.callgrind:$run_dir/$level-long.map")
done
python3 scripts/wasm-profile.py "$requests" "${specs[@]}"
echo "callgrind outputs, V8's maps and logs: $run_dir"
