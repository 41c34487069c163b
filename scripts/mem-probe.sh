#!/usr/bin/env bash
# `make mem-probe`: Envoy's memory with the module loaded and no load at all, cheap
# enough to compare module builds (issue 18). Each Envoy runs alone, with TWO
# workers, and is read a few seconds after its start: resident set (now, its
# highest so far, anonymous and file-backed), Envoy's heap (admin /memory: in use,
# held, free in the page heap, returned to the system, in the thread caches), and
# from /proc/PID/smaps the parts that are not Envoy's heap: V8's generated code (the
# rwx mappings) and the Wasm linear memories (V8 reserves each in a mapping of many
# GiB). Admin /memory/tcmalloc and smaps are kept per start in the run directory.
#   (a) no filter                  envoy/bench-baseline.yaml
#   (d) trivial Wasm filter        envoy/bench-header.yaml (bench/filters)
#   (b) this filter, no cache      envoy/bench.yaml
# plus any NAME=[ID:]MODULE given: configuration ID (a to e, default b) with MODULE.
# The starts are interleaved (a, d, b, variants, then again) and the medians printed.
#
#   scripts/mem-probe.sh [NAME=[ID:]MODULE ...]
#
# Settings (environment): MEM_PROBE_STARTS per configuration (3);
# MEM_PROBE_SECONDS after the start before reading (4); MEM_PROBE_BOOTSTRAP, YAML
# appended to every configuration (bootstrap fields, such as a
# memory_allocator_manager); MEM_PROBE_RUN_DIR (.run/mem-probe). On a shared
# machine run it under `flock /work/bench.lock`: other load slows the compilation,
# not the memory, but the probe disturbs a benchmark beside it.
set -euo pipefail

cd "$(dirname "$0")/.."
SCRIPT=mem-probe.sh
source scripts/processes.sh
source scripts/bench-envoys.sh

PORT=18141
ADMIN=19141

case "${1:-}" in -h | --help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;; esac
starts=${MEM_PROBE_STARTS:-3}
seconds=${MEM_PROBE_SECONDS:-4}
require_whole_numbers starts seconds
run_dir=${MEM_PROBE_RUN_DIR:-.run/mem-probe}
envoy=${ENVOY_BIN:-.venv/bin/envoy}
require_files "make envoy" "$envoy"
require_files "make wasm, and cargo build --release --target wasm32-wasip1 --manifest-path bench/filters/Cargo.toml" \
  "${THREESCALE_WASM:-$DEFAULT_WASM}" "$DEFAULT_FILTERS"
mkdir -p "$run_dir"
install_missing curl

# The configurations: label, configuration id and module of each.
names=(a d b)
ID=([a]=a [d]=d [b]=b)
MODULE=([a]="" [d]=$DEFAULT_FILTERS [b]=${THREESCALE_WASM:-$DEFAULT_WASM})
add_variants b "$@"

# config_of NAME: a copy of NAME's configuration on the probe's ports, with its module.
config_of() {
  local copy
  copy=$(config_on_ports "$1" "$PORT" "$ADMIN")
  [[ -z ${MEM_PROBE_BOOTSTRAP:-} ]] || printf '%s\n' "$MEM_PROBE_BOOTSTRAP" >> "$copy"
  echo "$copy"
}

kib_of() { awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"; }
# heap FIELD: a field of admin /memory in KiB.
heap() {
  awk -v field="\"$1\":" '$1 == field { gsub(/[",]/, "", $2); printf "%d", $2 / 1024 }' "$run_dir/memory.json"
}
# smaps_kib PID: resident KiB of the rwx mappings (V8's code) and of the mappings of
# the linear memories (the accessible start of each of V8's reservations of many GiB).
smaps_kib() {
  awk '
    /^[0-9a-f]+-[0-9a-f]+ / { perms = $2; size = 0; next }
    $1 == "Size:" { size = $2 }
    $1 == "Rss:" {
      if (perms ~ /x/ && perms ~ /w/) code += $2
      # A linear memory: its accessible part, then the rest of its reservation.
      if (perms == "---p" && size >= 1048576 && last_perms == "rw-p") wasm += last_rss
      last_perms = perms
      last_rss = $2
    }
    END { printf "%d %d\n", code, wasm }
  ' "/proc/$1/smaps"
}

declare -A VALUE
# probe NAME START: one Envoy of NAME, read SECONDS after its start.
probe() {
  local name=$1 start=$2 config pid t0 t_ready
  config=$(config_of "$name")
  t0=$(date +%s%N)
  "$envoy" -c "$config" --concurrency 2 --disable-hot-restart --log-level warn > "$run_dir/envoy-$name-$start.log" 2>&1 &
  pid=$!
  started "$pid"
  wait_for "Envoy ($name)" curl --silent --fail "http://127.0.0.1:$ADMIN/ready"
  t_ready=$(date +%s%N)
  sleep "$(awk -v s="$seconds" -v t="$(((t_ready - t0) / 1000000))" 'BEGIN { d = s - t / 1000; print (d > 0 ? d : 0) }')"
  curl --silent "http://127.0.0.1:$ADMIN/memory" > "$run_dir/memory.json"
  curl --silent "http://127.0.0.1:$ADMIN/memory/tcmalloc" > "$run_dir/tcmalloc-$name-$start.txt"
  cp "/proc/$pid/smaps" "$run_dir/smaps-$name-$start.txt"
  local key=$name,$start code wasm
  read -r code wasm <<< "$(smaps_kib "$pid")"
  VALUE[rss,$key]=$(kib_of "$pid" VmRSS)
  VALUE[peak,$key]=$(kib_of "$pid" VmHWM)
  VALUE[anon,$key]=$(kib_of "$pid" RssAnon)
  VALUE[file,$key]=$(kib_of "$pid" RssFile)
  VALUE[allocated,$key]=$(heap allocated)
  VALUE[held,$key]=$(heap heap_size)
  VALUE[free,$key]=$(heap pageheap_free)
  VALUE[unmapped,$key]=$(heap pageheap_unmapped)
  VALUE[caches,$key]=$(heap total_thread_cache)
  VALUE[code,$key]=$code
  VALUE[wasm,$key]=$wasm
  VALUE[ready_ms,$key]=$(((t_ready - t0) / 1000000))
  kill "$pid"
  wait "$pid" 2> /dev/null || true
  pids=()
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
row() {
  local label=$1
  shift
  printf "%-14s %7s %7s %7s %7s %7s | %6s %6s %6s %6s %6s | %5s %5s | %5s\n" "$label" "$@"
}
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d ' ' -f 1-3 /proc/loadavg);" \
  "$starts starts each, read ${seconds} s after the start, two workers, no load"
for name in "${names[@]}"; do
  printf "   %-12s %s %s\n" "$name" "${FILE[${ID[$name]}]}" "${MODULE[$name]:+($(stat -c %s "${MODULE[$name]}") bytes: ${MODULE[$name]})}"
done
echo "   MiB; peak = the highest RSS so far (VmHWM); heap = admin /memory: allocated (in use), held (heap_size), free in the page heap,"
echo "   unmapped (returned), caches (thread/CPU caches); code = V8's rwx mappings; wasm = linear memories"
row "" RSS "+ (a)" peak anon file allocated held free unmapp caches code wasm ready
for start in $(seq "$starts"); do
  for name in "${names[@]}"; do
    probe "$name" "$start"
    key=$name,$start
    values=()
    for field in rss; do values+=("$(mib "${VALUE[$field,$key]}")"); done
    values+=("$(mib $((VALUE[rss,$key] - ${VALUE[rss,a,$start]:-${VALUE[rss,$key]}})))")
    for field in peak anon file allocated held free unmapped caches code wasm; do values+=("$(mib "${VALUE[$field,$key]}")"); done
    values+=("${VALUE[ready_ms,$key]}ms")
    row "($name) #$start" "${values[@]}"
  done
done
declare -A MED
echo "-- medians"
for name in "${names[@]}"; do
  values=()
  for field in rss peak anon file allocated held free unmapped caches code wasm; do
    declare -a list=()
    for start in $(seq "$starts"); do list+=("${VALUE[$field,$name,$start]}"); done
    MED[$field]=$(median "${list[@]}")
  done
  [[ $name == a ]] && rss_a=${MED[rss]}
  values+=("$(mib "${MED[rss]}")" "$(mib "$(awk -v x="${MED[rss]}" -v a="$rss_a" 'BEGIN { print x - a }')")")
  for field in peak anon file allocated held free unmapped caches code wasm; do values+=("$(mib "${MED[$field]}")"); done
  values+=("")
  row "($name)" "${values[@]}"
done
echo "smaps, tcmalloc stats (admin /memory/tcmalloc) and logs: $run_dir"
