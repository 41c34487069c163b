# The five Envoys of `make bench` (README "The benchmark"), for the scripts that run
# them (bench.sh, mem-probe.sh, bench-instr.sh): sourced, not run.

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

# What each configuration is, and the module it runs by default.
declare -A LABEL=(
  [a]="no filter"
  [b]="our filter, no cache"
  [c]="our filter, cache warm"
  [d]="trivial filter: read a header"
  [e]="trivial filter: one callout"
)
declare -A DEFAULT_MODULE=([a]="" [b]=$DEFAULT_WASM [c]=$DEFAULT_WASM [d]=$DEFAULT_FILTERS [e]=$DEFAULT_FILTERS)
# The listener and admin ports of the files under envoy/.
declare -A LISTENER_PORT=([a]=18101 [b]=18102 [c]=18103 [d]=18104 [e]=18105)
declare -A ADMIN_PORT=([a]=19101 [b]=19102 [c]=19103 [d]=19104 [e]=19105)

# The configurations a script measures: `names`, and each one's configuration id (ID)
# and module (MODULE). add_variants DEFAULT_ID SPEC... adds each NAME=[ID:]MODULE:
# configuration ID (DEFAULT_ID if not given) with MODULE, under NAME.
names=()
declare -A ID MODULE
add_variants() {
  local default_id=$1 variant name spec id
  shift
  for variant in "$@"; do
    name=${variant%%=*} spec=${variant#*=} id=$default_id
    [[ $spec =~ ^([a-e]):(.*)$ ]] && id=${BASH_REMATCH[1]} spec=${BASH_REMATCH[2]}
    [[ $name != "$variant" && -n $name && -z ${ID[$name]:-} ]] || {
      echo "$SCRIPT: '$variant' is not NAME=[ID:]MODULE with a new NAME" >&2
      exit 2
    }
    require_files "a variant's module" "$spec"
    names+=("$name")
    ID[$name]=$id
    MODULE[$name]=$spec
  done
}

# config_on_ports NAME PORT ADMIN: a copy of NAME's configuration in run_dir, with its
# module, listening on PORT with its admin on ADMIN; prints its path.
config_on_ports() {
  local name=$1 id=${ID[$1]} copy=$run_dir/$1.yaml
  sed -E -e "s/port_value: ${LISTENER_PORT[$id]}\b/port_value: $2/" -e "s/port_value: ${ADMIN_PORT[$id]}\b/port_value: $3/" \
    -e "s#filename: ${DEFAULT_MODULE[$id]:-NONE}#filename: $(realpath -m "${MODULE[$name]:-NONE}")#" \
    "${FILE[$id]}" > "$copy"
  echo "$copy"
}
