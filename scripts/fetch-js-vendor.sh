#!/usr/bin/env bash
# Fetch the browser libraries the API serves itself, from the npm registry, pinned by version
# and by the registry's sha512 integrity, into api/src/wattcast/api/dashboard/static/vendor/:
#  - uPlot (MIT): the dashboard's charts;
#  - swagger-ui-dist (Apache-2.0): the OpenAPI browser at /docs.
# The API serves these files itself: no page loads anything from the internet at run time.
#
# Run by `make setup` (scripts/setup.sh) and by the Docker build (a node stage); needs only npm
# (and the node it comes with) and tar. Idempotent: a stamp file naming each package's version
# skips its download when the right files are already there.
#
#   scripts/fetch-js-vendor.sh [DEST]     (DEST defaults to the package's static/vendor/)
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=${1:-api/src/wattcast/api/dashboard/static/vendor}

# fetch PACKAGE VERSION INTEGRITY DIR FILE...: the files (paths in the tarball) land in
# DEST/DIR ("" for DEST itself) under their base names. INTEGRITY is `npm view PACKAGE@VERSION dist.integrity`, checked
# below, so a changed tarball is refused.
fetch() {
  local package=$1 version=$2 integrity=$3 dir=$DEST${4:+/$4}
  shift 4
  local files=("$@") stamp="$DEST/.$package-$version" have=1
  [ -f "$stamp" ] || have=0
  for f in "${files[@]}"; do [ -s "$dir/$(basename "$f")" ] || have=0; done
  [ "$have" = 1 ] && return 0
  command -v npm >/dev/null 2>&1 || { echo "fetch-js-vendor: npm is needed (apt-get install npm)" >&2; exit 1; }
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$package@$version" >/dev/null)
  local tarball
  tarball=$(ls "$tmp"/*.tgz)
  # node comes with npm, so it computes the digest: no other tool is needed (a node image will do).
  local actual
  actual=$(node -e 'const c = require("crypto"), f = require("fs");
    process.stdout.write("sha512-" + c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"));' "$tarball")
  if [ "$actual" != "$integrity" ]; then
    echo "fetch-js-vendor: $package@$version integrity mismatch: got $actual, want $integrity" >&2
    rm -rf "$tmp"
    exit 1
  fi
  tar -xzf "$tarball" -C "$tmp"
  mkdir -p "$dir"
  rm -f "$DEST"/."$package"-*
  for f in "${files[@]}"; do
    install -m 0644 "$tmp/package/$f" "$dir/$(basename "$f")"
  done
  rm -rf "$tmp"
  touch "$stamp"
  echo "fetch-js-vendor: $package@$version -> $dir"
}

fetch uplot 1.6.32 \
  sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw== \
  "" dist/uPlot.iife.min.js dist/uPlot.min.css LICENSE
fetch swagger-ui-dist 5.35.0 \
  sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ== \
  swagger-ui swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE
