#!/usr/bin/env bash
# The OCI image Istio's agent pulls for a WasmPlugin (`url: oci://...`), and its push.
#
#   scripts/image.sh build WASM LAYOUT   write an OCI image layout at LAYOUT holding WASM;
#                                        prints the manifest digest (WasmPlugin spec.sha256)
#   scripts/image.sh push LAYOUT REF     push it to REF (host[:port]/repository:tag) with skopeo
#   scripts/image.sh digest LAYOUT       print the manifest digest as spec.sha256 wants it (hex)
#
# The image is the "compat" variant of the Wasm OCI image format, the form docs/behaviour.md §1 and
# Istio's agent accept: one OCI image manifest (never an index) whose only, and so last, layer is
# an `application/vnd.oci.image.layer.v1.tar+gzip` tar holding `plugin.wasm`, with the manifest
# annotation `module.wasm.image/variant: compat`.
#
# The layout is assembled with tar, gzip, sha256sum and jq rather than a container build tool, so
# that every byte is decided here and the same module always gives the same manifest digest: the
# tar entry has a fixed mtime, uid/gid 0 without names, mode 0644 and ustar format; gzip -n stores
# no name or time; the config's `created` is fixed; the JSON is written with sorted keys. The
# fixed time is SOURCE_DATE_EPOCH when set (the reproducible-builds convention), else 0.
#
# Environment: IMAGE_TAG (default: the crate version), REGISTRY_TLS_VERIFY=false for a plain-HTTP
# registry (push only).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
EPOCH="${SOURCE_DATE_EPOCH:-0}"

usage() {
  echo "usage: $0 build WASM LAYOUT | push LAYOUT REF | digest LAYOUT" >&2
  exit 2
}

# The crate version from Cargo.toml's [package] table: the image's default tag.
crate_version() {
  sed -n '/^\[package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$REPO_ROOT/Cargo.toml" | head -n 1
}

# Stores FILE as a blob of LAYOUT and prints "sha256:<hex> <size>".
put_blob() {
  local layout=$1 file=$2 hex size
  hex=$(sha256sum "$file" | cut -d' ' -f1)
  size=$(stat -c %s "$file")
  cp "$file" "$layout/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}

build() {
  local wasm=$1 layout=$2 tag stage blob
  [ -f "$wasm" ] || { echo "image: $wasm does not exist (run \`make build\` first)" >&2; exit 1; }
  tag="${IMAGE_TAG:-$(crate_version)}"
  [ -n "$tag" ] || { echo "image: no tag (IMAGE_TAG unset and no version in Cargo.toml)" >&2; exit 1; }
  stage=$(mktemp -d)
  trap "rm -rf '$stage'" EXIT

  rm -rf "$layout"
  mkdir -p "$layout/blobs/sha256" "$stage/root"
  cp "$wasm" "$stage/root/plugin.wasm"
  tar --format=ustar --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner \
    --mode=0644 -C "$stage/root" -cf "$stage/layer.tar" plugin.wasm
  gzip -n -9 -c "$stage/layer.tar" >"$stage/layer.tar.gz"

  local diff_id layer layer_digest layer_size config config_digest config_size created
  diff_id="sha256:$(sha256sum "$stage/layer.tar" | cut -d' ' -f1)"
  blob=$(put_blob "$layout" "$stage/layer.tar.gz")
  read -r layer_digest layer_size <<<"$blob"
  created=$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)

  # The image configuration: a Wasm module has no entrypoint or environment; the platform
  # says what the module is built for.
  jq -n -S -c --arg created "$created" --arg diff_id "$diff_id" '{
      architecture: "wasm", os: "wasip1", created: $created, config: {},
      rootfs: {type: "layers", diff_ids: [$diff_id]},
      history: [{created: $created, created_by: "scripts/image.sh"}]
    }' | tr -d '\n' >"$stage/config.json"
  blob=$(put_blob "$layout" "$stage/config.json")
  read -r config_digest config_size <<<"$blob"

  jq -n -S -c \
    --arg config_digest "$config_digest" --argjson config_size "$config_size" \
    --arg layer_digest "$layer_digest" --argjson layer_size "$layer_size" \
    --arg created "$created" '{
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json",
               digest: $config_digest, size: $config_size},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
                digest: $layer_digest, size: $layer_size}],
      annotations: {"module.wasm.image/variant": "compat",
                    "org.opencontainers.image.title": "threescale-wasm-auth",
                    "org.opencontainers.image.created": $created}
    }' | tr -d '\n' >"$stage/manifest.json"
  local manifest_digest manifest_size
  blob=$(put_blob "$layout" "$stage/manifest.json")
  read -r manifest_digest manifest_size <<<"$blob"

  # The layout's own index names the manifest by tag; only the manifest is ever pushed.
  printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  jq -n -S -c --arg digest "$manifest_digest" --argjson size "$manifest_size" --arg tag "$tag" '{
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
                   digest: $digest, size: $size,
                   annotations: {"org.opencontainers.image.ref.name": $tag}}]
    }' | tr -d '\n' >"$layout/index.json"

  echo "image: $layout (tag $tag, plugin.wasm $(stat -c %s "$wasm") bytes, layer $layer_size bytes)"
  echo "manifest digest: $manifest_digest"
  echo "WasmPlugin spec.sha256: ${manifest_digest#sha256:}"
}

# The tag the layout's index names (there is exactly one).
layout_tag() {
  jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$1/index.json"
}

push() {
  local layout=$1 ref=$2
  [ -f "$layout/index.json" ] || { echo "image: no OCI layout at $layout (run \`make image\`)" >&2; exit 1; }
  command -v skopeo >/dev/null || { echo "image: skopeo is missing (\`make push\` installs it)" >&2; exit 1; }
  # --preserve-digests: fail rather than let the copy rewrite the manifest, so that the
  # digest printed by `build` stays the one to put in spec.sha256.
  skopeo copy --quiet --preserve-digests \
    --dest-tls-verify="${REGISTRY_TLS_VERIFY:-true}" \
    "oci:$layout:$(layout_tag "$layout")" "docker://$ref"
  echo "pushed: $ref"
  echo "manifest digest: $(jq -r '.manifests[0].digest' "$layout/index.json")"
}

digest() {
  local layout=$1 manifest_digest
  [ -f "$layout/index.json" ] || { echo "image: no OCI layout at $layout (run \`make image\`)" >&2; exit 1; }
  manifest_digest=$(jq -r '.manifests[0].digest' "$layout/index.json")
  echo "${manifest_digest#sha256:}"
}

case "${1:-}" in
  build) [ $# -eq 3 ] || usage; build "$2" "$3" ;;
  push) [ $# -eq 3 ] || usage; push "$2" "$3" ;;
  digest) [ $# -eq 2 ] || usage; digest "$2" ;;
  *) usage ;;
esac
