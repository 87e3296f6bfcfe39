#!/usr/bin/env bash
# Builds InfluxDB 2 OSS (devtools/influxdb2: `influxd` from the Go module proxy, its Flux engine's
# Rust library libflux from the flux module's sources with cargo) into a cache keyed by its
# inputs, and links it as .work/bin/influxd2. A fresh machine pays the build once (about 30-45 min
# on 2 cores, most of it libflux and the cgo link); afterwards, and in every fresh clone on the
# same machine, this takes a second. The binary is never committed: the cache lives outside the
# repository.
set -euo pipefail
cd "$(dirname "$0")/.."
src=devtools/influxdb2
cache_root=${WATTCAST_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wattcast}
influx_version=$(cd "$src" && go list -m -f "{{.Version}}" github.com/influxdata/influxdb/v2)
flux_version=$(cd "$src" && go list -m -f "{{.Version}}" github.com/influxdata/flux)
# flux pins an old Rust channel in rust-toolchain.toml that rustup cannot download here (only
# crates.io is reachable), so cargo runs on the default toolchain that is installed.
if command -v rustup >/dev/null 2>&1; then
  export RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-$(cd / && rustup default | cut -d' ' -f1)}
fi
# flux builds libflux with its `strict` feature (`deny(warnings)`), and newer compilers warn
# about more (dead code, elided lifetimes): lints stay warnings, the sources stay as released.
export RUSTC_WRAPPER="$PWD/$src/rustc-cap-lints.sh"
key=$( (go version; rustc --version; cat "$src/go.mod" "$src/go.sum" "$src"/*.go "$src"/*.sh "$0") | sha256sum | cut -c1-16)
out="$cache_root/influxdb2-$key/influxd"
# Two set-ups at once (two clones, or a build started by hand) wait for one build instead of
# overwriting each other's partial output.
mkdir -p "$cache_root"
exec 9>"$cache_root/influxdb2.lock"
flock 9

if [ ! -x "$out" ]; then
  printf '\033[1m==> building InfluxDB %s (flux %s, libflux with %s) from the Go module proxy:\033[0m\n' \
    "$influx_version" "$flux_version" "$(rustc --version | cut -d' ' -f1-2)"
  printf '    the first build takes about 30-45 minutes on 2 cores; later runs reuse %s\n' "$out"
  mkdir -p "$(dirname "$out")"
  tools=$(mktemp -d)
  trap 'rm -rf "$tools"' EXIT
  start=$(date +%s)
  # influxdata's pkg-config wrapper, first on PATH: cgo asks it for libflux's flags, and it builds
  # libflux with cargo into the Go build cache (reused by later builds) before answering.
  (cd "$src" && go build -o "$tools/pkg-config" github.com/influxdata/pkg-config)
  commit=$(GOFLAGS=-mod=mod go mod download -json "github.com/influxdata/influxdb/v2@$influx_version" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Origin", {}).get("Hash", "")[:10])')
  # The upstream build's tags, less `assets`: without it the web UI is a stub.
  (cd "$src" && PATH="$tools:$PATH" CGO_ENABLED=1 go build -trimpath \
    -tags sqlite_foreign_keys,sqlite_json \
    -ldflags "-s -w -X main.version=$influx_version -X main.commit=${commit:-unknown}" \
    -o "$out.partial" .)
  mv "$out.partial" "$out"
  printf '    built in %s s\n' "$(($(date +%s) - start))"
fi
mkdir -p .work/bin
ln -sfn "$out" .work/bin/influxd2
