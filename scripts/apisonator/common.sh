# Shared by the apisonator scripts (sourced): where things live.
# APISONATOR_STATE: unpacked source and gem lock (default target/apisonator);
# APISONATOR_RUN: pid files, logs and the env file of one instance (default $APISONATOR_STATE/run).
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SHIM=$REPO/scripts/apisonator/shim
STATE=${APISONATOR_STATE:-$REPO/target/apisonator}
SRC_DIR=$STATE/src
RUN_DIR=${APISONATOR_RUN:-$STATE/run}
# The pinned archive (docs: /work/shared/APISONATOR.md in the workplace; README "Real backend").
ARCHIVE_SHA256=faa62371e988d1fb817358b4beb8e9821ca699df4e8cd6b09fe1411e7de18170
DEFAULT_ARCHIVE=$REPO/../shared/vendor/apisonator-3.4.3-pinned.tar.gz
