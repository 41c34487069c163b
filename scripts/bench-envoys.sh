# The five Envoys of `make bench` (README "The benchmark"), for the scripts that run
# them (bench.sh, mem-probe.sh): sourced, not run.

# The module and the trivial filters' module, as the Makefile builds them.
DEFAULT_WASM=target/threescale_wasm_auth.wasm
DEFAULT_FILTERS=bench/filters/target/wasm32-wasip1/release/bench_filters.wasm

# Each configuration's Envoy bootstrap.
declare -A FILE=(
  [a]=envoy/bench-baseline.yaml
  [b]=envoy/bench.yaml
  [c]=envoy/bench-cache.yaml
  [d]=envoy/bench-header.yaml
  [e]=envoy/bench-callout.yaml
)
