# Plumbing shared by scripts/demo.sh, bench.sh, bench-scale.sh, bench-core.sh and fleet.sh
# (sourced, not run).
# The sourcing script sets SCRIPT (its name, for messages) and run_dir before use.

pids=()

# Stops every process started with `started`, once, on any exit.
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
}
trap cleanup EXIT

# started PID: remembers a background process for cleanup and for wait_for's liveness check.
started() { pids+=("$1"); }

# stop_started PID: stops a process remembered by `started` before the end, and forgets it.
stop_started() {
  local pid kept=()
  kill "$1" 2> /dev/null || true
  wait "$1" 2> /dev/null || true
  for pid in "${pids[@]}"; do [[ $pid == "$1" ]] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

# require_whole_numbers NAME...: stops unless each named variable holds a positive whole number.
require_whole_numbers() {
  local setting
  for setting in "$@"; do
    [[ ${!setting} =~ ^[1-9][0-9]*$ ]] || {
      echo "$SCRIPT: $setting must be a positive whole number, not '${!setting}'" >&2
      exit 2
    }
  done
}

# install_missing TOOL...: installs with apt-get the Debian packages of the same names
# whose commands are missing (CI machines start bare).
install_missing() {
  local tool missing=()
  for tool in "$@"; do command -v "$tool" > /dev/null || missing+=("$tool"); done
  [[ ${#missing[@]} -gt 0 ]] || return 0
  install_packages "${missing[@]}"
}

# install_node: Node.js (the Debian package nodejs) when there is no `node`.
install_node() {
  command -v node > /dev/null || install_packages nodejs
}

# install_packages PACKAGE...: installs Debian packages with apt-get.
install_packages() {
  local sudo=()
  echo "== installing $* (Debian packages)"
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq "$@" > /dev/null
}

# require_files HINT FILE...: stops with HINT when one of the files is missing.
require_files() {
  local hint=$1 file
  shift
  for file in "$@"; do
    [[ -f $file ]] || { echo "$SCRIPT: $file is missing ($hint)" >&2; exit 1; }
  done
}

# config_for_wasm CONFIG DEFAULT_WASM WASM: prints the Envoy configuration to use.
# The files under envoy/ name the module relative to the repository root; another
# module gets a copy of the configuration (in run_dir) with its absolute path.
config_for_wasm() {
  local config=$1 default=$2 wasm=$3
  if [[ $(realpath "$wasm") == $(realpath -m "$default") ]]; then
    echo "$config"
    return
  fi
  local copy
  copy=$run_dir/$(basename "$config")
  sed "s#filename: $default#filename: $(realpath "$wasm")#" "$config" > "$copy"
  echo "$copy"
}

# wait_for WHAT CHECK...: retries CHECK for up to 20 s; stops early, with the logs,
# when a started process has died.
wait_for() {
  local what=$1 pid
  shift
  for _ in $(seq 100); do
    if "$@" > /dev/null 2>&1; then return 0; fi
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2> /dev/null || { echo "$SCRIPT: a process died while waiting for $what" >&2; tail -n 30 "$run_dir"/*.log >&2; exit 1; }
    done
    sleep 0.2
  done
  echo "$SCRIPT: $what did not come up; logs in $run_dir" >&2
  tail -n 30 "$run_dir"/*.log >&2
  exit 1
}

# cpu_ticks PID: user + system CPU time of a process (all its threads), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICKS_PER_SECOND=$(getconf CLK_TCK)

# cpu_us_per_request TICKS REQUESTS: CPU time per request in microseconds ("n/a" without requests).
cpu_us_per_request() {
  awk -v t="$1" -v r="$2" -v hz="$TICKS_PER_SECOND" \
    'BEGIN { if (r > 0) printf "%.2f", 1e6 * t / hz / r; else print "n/a" }'
}

# median VALUE...: the median of numbers (the mean of the middle two for an even count).
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B to three decimals ("n/a" when B is not positive).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
