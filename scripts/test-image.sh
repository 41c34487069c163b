#!/usr/bin/env bash
# End-to-end test of the OCI image (`make test-image`):
#   1. builds the image layout twice from the same module and checks the manifest digest is the same;
#   2. starts a local registry (Debian's docker-registry, as a plain process with a generated
#      configuration and a temporary storage directory) on 127.0.0.1;
#   3. pushes the image with `scripts/image.sh push` (skopeo), as `make push` does;
#   4. pulls it back the way Istio's agent does, through the registry API with curl only (nothing
#      shared with the push side): manifest by tag, then its last layer, gunzip, untar,
#      `plugin.wasm`; and checks the media types, the annotation, every digest and size, and that
#      the module is byte for byte the one that was built;
#   5. prints the manifest digest to use as WasmPlugin `spec.sha256`.
# Usage: scripts/test-image.sh WASM   (the Makefile installs skopeo, docker-registry, curl and jq)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WASM=${1:?usage: $0 WASM}
NAME=threescale-wasm-auth
TAG=test
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
OCI_LAYER=application/vnd.oci.image.layer.v1.tar+gzip

WORK=$(mktemp -d)
REGISTRY_PID=
cleanup() {
  if [ -n "$REGISTRY_PID" ]; then kill "$REGISTRY_PID" 2>/dev/null || true; wait "$REGISTRY_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

CHECKS=0
FAILURES=0
check() {
  local what=$1
  shift
  CHECKS=$((CHECKS + 1))
  if "$@"; then
    echo "ok: $what"
  else
    FAILURES=$((FAILURES + 1))
    echo "FAILED: $what" >&2
  fi
}
fail() {
  echo "test-image: $*" >&2
  [ -f "$WORK/registry.log" ] && { echo "--- registry log (tail)" >&2; tail -n 20 "$WORK/registry.log" >&2; }
  exit 1
}

sha256_hex() { sha256sum "$1" | cut -d' ' -f1; }

# 1. Two builds, one digest.
IMAGE_TAG=$TAG "$REPO_ROOT/scripts/image.sh" build "$WASM" "$WORK/layout-a" >"$WORK/build-a.log"
IMAGE_TAG=$TAG "$REPO_ROOT/scripts/image.sh" build "$WASM" "$WORK/layout-b" >"$WORK/build-b.log"
digest_a=$(jq -r '.manifests[0].digest' "$WORK/layout-a/index.json")
digest_b=$(jq -r '.manifests[0].digest' "$WORK/layout-b/index.json")
check "two builds of the same module give the same manifest digest ($digest_a)" \
  test "$digest_a" = "$digest_b"
check "the build prints the manifest digest" grep -qx "manifest digest: $digest_a" "$WORK/build-a.log"

# 2. A registry on a free loopback port. The port is chosen by the kernel, released, and handed
# to the registry; if something takes it in between, the registry fails to bind and we retry.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
start_registry() {
  local port=$1
  mkdir -p "$WORK/storage"
  cat >"$WORK/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $WORK/storage
http:
  addr: 127.0.0.1:$port
EOF
  docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
  REGISTRY_PID=$!
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/"; then return 0; fi
    kill -0 "$REGISTRY_PID" 2>/dev/null || { wait "$REGISTRY_PID" || true; REGISTRY_PID=; return 1; }
    sleep 0.1
  done
  fail "the registry did not answer on 127.0.0.1:$port"
}
for _ in 1 2 3; do
  PORT=$(free_port)
  if start_registry "$PORT"; then break; fi
  PORT=
done
[ -n "${PORT:-}" ] || fail "the registry could not start"
REGISTRY=127.0.0.1:$PORT
echo "registry: http://$REGISTRY (pid $REGISTRY_PID)"

# 3. Push, as `make push` does.
REGISTRY_TLS_VERIFY=false "$REPO_ROOT/scripts/image.sh" push "$WORK/layout-a" "$REGISTRY/$NAME:$TAG" \
  >"$WORK/push.log" 2>&1 || { cat "$WORK/push.log" >&2; fail "push failed"; }

# 4. Pull it back through the registry API, as Istio's agent does.
api="http://$REGISTRY/v2/$NAME"
curl -fsS -D "$WORK/manifest.headers" -o "$WORK/manifest.json" \
  -H "Accept: $OCI_MANIFEST, application/vnd.docker.distribution.manifest.v2+json" \
  "$api/manifests/$TAG" || fail "GET manifest failed"
pulled_digest="sha256:$(sha256_hex "$WORK/manifest.json")"
served_digest=$(tr -d '\r' <"$WORK/manifest.headers" | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p')
served_type=$(tr -d '\r' <"$WORK/manifest.headers" | sed -n 's/^[Cc]ontent-[Tt]ype: *//p')

check "the pulled manifest's digest is the built one" test "$pulled_digest" = "$digest_a"
check "the registry names the same digest" test "$served_digest" = "$digest_a"
check "the registry serves an OCI image manifest (not an index)" test "$served_type" = "$OCI_MANIFEST"
check "manifest mediaType is $OCI_MANIFEST" \
  test "$(jq -r .mediaType "$WORK/manifest.json")" = "$OCI_MANIFEST"
check "manifest schemaVersion is 2" test "$(jq -r .schemaVersion "$WORK/manifest.json")" = 2
check "annotation module.wasm.image/variant=compat" \
  test "$(jq -r '.annotations["module.wasm.image/variant"]' "$WORK/manifest.json")" = compat
check "exactly one layer (the compat variant)" test "$(jq '.layers | length' "$WORK/manifest.json")" = 1
check "last layer media type is $OCI_LAYER" \
  test "$(jq -r '.layers[-1].mediaType' "$WORK/manifest.json")" = "$OCI_LAYER"

# The manifest by digest too: that is how Istio fetches it when spec.sha256 is set.
curl -fsS -o "$WORK/manifest-by-digest.json" -H "Accept: $OCI_MANIFEST" "$api/manifests/$digest_a" \
  || fail "GET manifest by digest failed"
check "the manifest by digest is the same document" cmp -s "$WORK/manifest.json" "$WORK/manifest-by-digest.json"

layer_digest=$(jq -r '.layers[-1].digest' "$WORK/manifest.json")
layer_size=$(jq -r '.layers[-1].size' "$WORK/manifest.json")
curl -fsSL -o "$WORK/layer.tar.gz" "$api/blobs/$layer_digest" || fail "GET layer blob failed"
check "layer blob digest matches the manifest" test "sha256:$(sha256_hex "$WORK/layer.tar.gz")" = "$layer_digest"
check "layer blob size matches the manifest" test "$(stat -c %s "$WORK/layer.tar.gz")" = "$layer_size"

config_digest=$(jq -r '.config.digest' "$WORK/manifest.json")
curl -fsSL -o "$WORK/config.json" "$api/blobs/$config_digest" || fail "GET config blob failed"
check "config blob digest matches the manifest" test "sha256:$(sha256_hex "$WORK/config.json")" = "$config_digest"
gzip -dc "$WORK/layer.tar.gz" >"$WORK/layer.tar"
check "config diff_ids names the uncompressed layer" \
  test "$(jq -r '.rootfs.diff_ids[-1]' "$WORK/config.json")" = "sha256:$(sha256_hex "$WORK/layer.tar")"

check "the layer holds exactly plugin.wasm" test "$(tar -tf "$WORK/layer.tar")" = plugin.wasm
mkdir -p "$WORK/extracted"
tar -xf "$WORK/layer.tar" -C "$WORK/extracted" plugin.wasm
check "plugin.wasm is byte for byte the built module" cmp -s "$WORK/extracted/plugin.wasm" "$WASM"
check "tar entry owner, mode and time are fixed" \
  test "$(TZ=UTC tar --numeric-owner --full-time -tvf "$WORK/layer.tar" | awk '{print $1, $2, $4, $5}')" \
  = "-rw-r--r-- 0/0 $(date -u -d "@${SOURCE_DATE_EPOCH:-0}" '+%Y-%m-%d %H:%M:%S')"

echo "$((CHECKS - FAILURES)) passed, $FAILURES failed"
[ "$FAILURES" -eq 0 ] || exit 1
echo "WasmPlugin spec.sha256: ${digest_a#sha256:}"
