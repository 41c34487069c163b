#!/usr/bin/env bash
# `make bench-core`: what the rule and service counts of `make bench-scale` cost the
# filter itself, without Envoy and with little of the machine's noise. The
# configurations of bench-scale (written by scripts/bench-scale.sh --configs-only)
# go through the filter's core as Envoy's shell drives it, with a host made of plain
# data and a cache already filled (bench/core: Plugin, flow, cache, mapping index),
# interleaved over many short rounds; printed: microseconds per request (median and
# best round) and their ratios to (base). (pad) has the plugin configuration of (base):
# its ratio shows the noise. Three times: natively (release); natively counting the
# instructions per request under valgrind (callgrind), which no other load disturbs
# (bench-core run with N and with 2N requests, the difference over N, so reading the
# configuration and the warm-up drop out); and the same code built for wasm32-wasip1
# under Node's WASI (V8, as in Envoy, though not with Envoy's V8 settings).
#
#   scripts/bench-core.sh             all three (installs valgrind and nodejs with apt-get if missing)
#   scripts/bench-core.sh --native    natively only (timing and instructions; no Node, no Wasm build)
#
# Settings (environment): BENCH_ROUNDS (21), BENCH_REQUESTS per configuration and round
# (10000; also the N of the instruction count).
set -euo pipefail

cd "$(dirname "$0")/.."
SCRIPT=bench-core.sh
source scripts/processes.sh

CONFIGS=(base svc r1k r10k pad)
WASM=target/wasm32-wasip1/release/bench-core.wasm

native_only=0
for arg in "$@"; do
  case "$arg" in
    --native) native_only=1 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-core.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
rounds=${BENCH_ROUNDS:-21}
requests=${BENCH_REQUESTS:-10000}
require_whole_numbers rounds requests
run_dir=${BENCH_RUN_DIR:-.run/bench-core}
settings=(--rounds "$rounds" --requests "$requests")

BENCH_RUN_DIR=$run_dir scripts/bench-scale.sh --configs-only
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "   (base) 1 service x 1 rule, (svc) 1,000 services x 10 rules, (r1k) 1 x 1,000 rules,"
echo "   (r10k) 1 x 10,000 rules, (pad) the plugin configuration of (base) again; each request"
echo "   selects the last service and matches its last rule (scripts/bench-scale.py)"

echo "== natively"
cargo build --quiet --release -p bench-core
target/release/bench-core "${settings[@]}" "$run_dir" "${CONFIGS[@]}"

install_missing valgrind
# instructions ID REQUESTS: the instructions bench-core runs for configuration ID
# alone, one round of REQUESTS requests (reading and warm-up included).
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    target/release/bench-core --rounds 1 --requests "$2" "$run_dir" "$1" 2>&1 > /dev/null |
    awk '/Collected :/ { print $NF }'
}
echo "== natively, instructions per request (callgrind; ${requests} and $((2 * requests)) requests, the difference)"
declare -A PER_REQUEST
for id in "${CONFIGS[@]}"; do
  PER_REQUEST[$id]=$((($(instructions "$id" $((2 * requests))) - $(instructions "$id" "$requests")) / requests))
  awk -v id="$id" -v n="${PER_REQUEST[$id]}" -v base="${PER_REQUEST[base]}" \
    'BEGIN { printf "   (%-4s) %8d instructions/request   (base) / this %6.3f\n", id, n, base / n }'
done
[[ $native_only == 1 ]] && exit 0

install_node
make --no-print-directory wasm-target
cargo build --quiet --release -p bench-core --target wasm32-wasip1
echo "== wasm32-wasip1 under Node $(node --version)'s WASI"
node --no-warnings bench/core/wasi.mjs "$WASM" "$run_dir" "${settings[@]}" "${CONFIGS[@]}"
