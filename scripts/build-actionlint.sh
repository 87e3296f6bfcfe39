#!/usr/bin/env bash
# actionlint (the GitHub Actions workflow checker `make lint` runs on .github/workflows), built
# from the Go module proxy at the version scripts/tools.env pins, cached outside the repository
# (~/.cache/wattcast/actionlint-<version>) and linked as .venv/bin/actionlint. Idempotent: a run
# with the binary built takes no time.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.env

cache=${XDG_CACHE_HOME:-$HOME/.cache}/wattcast/actionlint-$ACTIONLINT_VERSION
if ! [ -x "$cache/actionlint" ]; then
  command -v go >/dev/null || { echo "build-actionlint: Go is needed (the Go module proxy)" >&2; exit 2; }
  printf '\033[1m==> building actionlint %s from the Go module proxy\033[0m\n' "$ACTIONLINT_VERSION"
  mkdir -p "$cache"
  GOBIN="$cache" CGO_ENABLED=0 go install -trimpath "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi
ln -sf "$cache/actionlint" .venv/bin/actionlint
