#!/usr/bin/env bash
# Fetch the dashboard's charting library (uPlot, MIT) from the npm registry, pinned by version
# and by the registry's sha512 integrity, into api/src/wattcast/api/dashboard/static/vendor/.
# The API serves these files itself: the dashboard loads nothing from the internet at run time.
#
# Run by `make setup` (scripts/setup.sh) and by the Docker build (a node stage); needs only npm
# (and the node it comes with) and tar. Idempotent: a stamp file naming the version skips the
# download when the right files are already there.
#
#   scripts/fetch-js-vendor.sh [DEST]     (DEST defaults to the package's static/vendor/)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE=uplot
VERSION=1.6.32
# `npm view uplot@1.6.32 dist.integrity`: checked below, so a changed tarball is refused.
INTEGRITY=sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==
FILES=(dist/uPlot.iife.min.js dist/uPlot.min.css LICENSE)

DEST=${1:-api/src/wattcast/api/dashboard/static/vendor}
STAMP="$DEST/.$PACKAGE-$VERSION"

have_all() {
  [ -f "$STAMP" ] || return 1
  for f in "${FILES[@]}"; do [ -s "$DEST/$(basename "$f")" ] || return 1; done
}

if have_all; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "fetch-js-vendor: npm is needed (apt-get install npm)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
tarball=$(ls "$tmp"/*.tgz)
# node comes with npm, so it computes the digest: no other tool is needed (a node image will do).
actual=$(node -e 'const c = require("crypto"), f = require("fs");
  process.stdout.write("sha512-" + c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"));' "$tarball")
if [ "$actual" != "$INTEGRITY" ]; then
  echo "fetch-js-vendor: $PACKAGE@$VERSION integrity mismatch: got $actual, want $INTEGRITY" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$tmp"
mkdir -p "$DEST"
rm -f "$DEST"/.$PACKAGE-*
for f in "${FILES[@]}"; do
  install -m 0644 "$tmp/package/$f" "$DEST/$(basename "$f")"
done
touch "$STAMP"
echo "fetch-js-vendor: $PACKAGE@$VERSION -> $DEST"
