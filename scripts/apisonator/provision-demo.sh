#!/usr/bin/env bash
# Provisions into a running apisonator (APISONATOR_URL, internal API user and
# password as start.sh wrote them) the demo's account: the user_key part of
# examples/sim.yaml's service 2555417777820 (an apisonator service takes
# either user keys, backend_version 1, or app ids, 2; the demo's is 1).
set -euo pipefail
: "${APISONATOR_URL:?run scripts/apisonator/start.sh and source its run/env first}"
user=${APISONATOR_INTERNAL_USER:-system_app}
password=${APISONATOR_INTERNAL_PASSWORD:-secret}
service=2555417777820
internal() {
  local method=$1 path=$2 body=${3:-}
  curl --silent --show-error --fail -u "$user:$password" -H 'Content-Type: application/json' \
    -X "$method" ${body:+-d "$body"} "$APISONATOR_URL/internal$path" >/dev/null
}
internal POST /services/ "{\"service\":{\"id\":\"$service\",\"provider_key\":\"pk-$service\",\"state\":\"active\",\"backend_version\":\"1\",\"default_service\":true}}"
internal POST /service_tokens/ "{\"service_tokens\":{\"service-token-$service\":{\"service_id\":\"$service\"}}}"
internal POST "/services/$service/metrics/1" '{"metric":{"name":"hits"}}'
internal POST "/services/$service/metrics/2" '{"metric":{"name":"products","parent_id":"1"}}'
internal POST "/services/$service/metrics/3" '{"metric":{"name":"sales","parent_id":"1"}}'
internal POST "/services/$service/metrics/4" '{"metric":{"name":"storage"}}'
internal POST "/services/$service/applications/basic-app" '{"application":{"state":"active","plan_id":"basic","plan_name":"Basic"}}'
internal PUT "/services/$service/applications/basic-app/key/8a3b6c1e5d2f4a9b"
internal PUT "/services/$service/plans/basic/usagelimits/1/minute" '{"usagelimit":{"minute":10}}'
internal PUT "/services/$service/plans/basic/usagelimits/1/day" '{"usagelimit":{"day":1000}}'
internal PUT "/services/$service/plans/basic/usagelimits/2/hour" '{"usagelimit":{"hour":5}}'
echo "apisonator: demo account provisioned (service $service, user key 8a3b6c1e5d2f4a9b)"
