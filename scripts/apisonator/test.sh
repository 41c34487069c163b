#!/usr/bin/env bash
# `make test-apisonator`: installs apisonator (install.sh), starts it on free
# ports with inline jobs, runs the e2e cases built with the `apisonator`
# feature (the scenarios on both backends and the differential test), and
# stops what it started, whatever happens. Extra arguments go to the test
# binary (e.g. a test name filter).
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO"

scripts/apisonator/install.sh
trap scripts/apisonator/stop.sh EXIT
APISONATOR_INLINE_JOBS=1 scripts/apisonator/start.sh
set -a
source "$RUN_DIR/env"
set +a
filters=("$@")
[ ${#filters[@]} -gt 0 ] || filters=(cases::apisonator:: cases::differential::)
${CARGO:-cargo} test --no-default-features --features apisonator --test e2e -- "${filters[@]}"
