#!/usr/bin/env bash
# Installs what apisonator needs on Debian 12 (only Debian packages; no gem
# server) and unpacks its pinned source into $APISONATOR_STATE/src.
#
# The source is apisonator-3.4.3-pinned.tar.gz: from $APISONATOR_SRC (the
# archive, or a directory already holding apisonator/ and resque/), else from
# ../shared/vendor/ beside the repository. Its sha256 is checked.
set -euo pipefail
source "$(dirname "$0")/common.sh"

PACKAGES=(ruby redis-server ruby-redis ruby-hiredis ruby-redis-namespace ruby-sinatra
  ruby-sinatra-contrib ruby-rack ruby-yajl ruby-builder ruby-daemons ruby-webrick
  ruby-mono-logger ruby-multi-json ruby-dotenv puma bundler curl)

install_packages() {
  local missing=()
  for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
      || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "apisonator: apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

fail_without_source() {
  cat >&2 <<MSG
apisonator: no source archive. Set APISONATOR_SRC to apisonator-3.4.3-pinned.tar.gz
(sha256 $ARCHIVE_SHA256) or to a directory holding its apisonator/ and resque/,
or put the archive at $DEFAULT_ARCHIVE.
To make it: in github.com/3scale/apisonator check out 8e26728215bdf3f2b128b485427af146d6257acd,
cherry-pick 112eae6d, d347171a and dd18966d, and \`git archive\` lib/ app/ bin/ config.ru LICENSE
NOTICE VERSION under apisonator/; add lib/ and LICENSE of github.com/resque/resque tag v1.27.4
(without lib/resque/server*) under resque/; tar czf the two folders.
MSG
  exit 1
}

unpack_source() {
  local source=${APISONATOR_SRC:-$DEFAULT_ARCHIVE}
  if [ -d "$source" ]; then
    [ -d "$source/apisonator/lib" ] && [ -d "$source/resque/lib" ] || fail_without_source
    ln -sfn "$(cd "$source" && pwd)" "$SRC_DIR"
    return
  fi
  [ -f "$source" ] || fail_without_source
  local sum
  sum=$(sha256sum "$source" | cut -d' ' -f1)
  if [ "$sum" != "$ARCHIVE_SHA256" ]; then
    echo "apisonator: $source has sha256 $sum, expected $ARCHIVE_SHA256" >&2
    exit 1
  fi
  [ -f "$SRC_DIR/.sha256" ] && [ "$(cat "$SRC_DIR/.sha256")" = "$sum" ] && return
  rm -rf "$SRC_DIR"
  mkdir -p "$SRC_DIR"
  tar -xzf "$source" -C "$SRC_DIR"
  echo "$sum" >"$SRC_DIR/.sha256"
}

# Bundler resolves the shim Gemfile against the installed Debian gems only.
lock_gems() {
  mkdir -p "$STATE/gems"
  cp "$SHIM/Gemfile" "$STATE/gems/Gemfile"
  (cd "$STATE/gems" && env -u RUBYOPT BUNDLE_GEMFILE="$STATE/gems/Gemfile" bundle lock --local >/dev/null)
}

install_packages
unpack_source
lock_gems
echo "apisonator: ready in $SRC_DIR"
