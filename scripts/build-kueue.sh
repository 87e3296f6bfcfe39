#!/usr/bin/env bash
# Builds Kueue (the `kueue` manager, `go install` of sigs.k8s.io/kueue/cmd/kueue from the Go
# module proxy, pinned below) into a cache keyed by its inputs, copies next to it the parts of
# the module's config/ that the test bed applies (CRDs and the kustomization that says which
# get the conversion webhook, the webhook configurations, the manager's ClusterRole and Role), and links
# the binary as .work/bin/kueue (wattcast.devtools.cluster.kueue finds config/ and VERSION
# beside it).
# A fresh machine pays the build once (a few minutes on 2 cores); afterwards, and in every
# fresh clone on the same machine, this takes a second. Nothing of Kueue is ever committed:
# the cache lives outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
KUEUE_VERSION=v0.17.0
module=sigs.k8s.io/kueue
cache_root=${WATTCAST_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wattcast}
command -v go >/dev/null 2>&1 || { echo "build-kueue: Go 1.25 or newer is needed" >&2; exit 1; }
# The inputs: the toolchain, the version and this script.
key=$( (go version; echo "$KUEUE_VERSION"; cat "$0") | sha256sum | cut -c1-16)
dir="$cache_root/kueue-$key"
# Two set-ups at once wait for one build instead of deleting each other's partial output.
mkdir -p "$cache_root"
exec 9>"$cache_root/kueue.lock"
flock 9

if [ ! -x "$dir/kueue" ] || [ ! -f "$dir/VERSION" ]; then
  printf '\033[1m==> building Kueue %s (%s/cmd/kueue) from the Go module proxy:\033[0m\n' \
    "$KUEUE_VERSION" "$module"
  printf '    the first build takes a few minutes on 2 cores; later runs reuse %s\n' "$dir"
  start=$(date +%s)
  rm -rf "$dir.partial"
  mkdir -p "$dir.partial/config"
  # From /, outside any module: `go install module@version` resolves Kueue's own go.mod.
  (cd / && GOBIN="$dir.partial" go install -trimpath -ldflags "-s -w" "$module/cmd/kueue@$KUEUE_VERSION")
  src=$(cd / && go mod download -json "$module@$KUEUE_VERSION" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  components="$src/config/components"
  mkdir -p "$dir.partial/config/crd" "$dir.partial/config/webhook" "$dir.partial/config/rbac"
  cp "$components"/crd/bases/*.yaml "$components"/crd/kustomization.yaml "$dir.partial/config/crd/"
  cp -r "$components"/crd/patches "$dir.partial/config/crd/patches"
  cp "$components"/webhook/manifests.yaml "$dir.partial/config/webhook/"
  cp "$components"/rbac/role.yaml "$components"/rbac/manager_secrets_role.yaml "$dir.partial/config/rbac/"
  chmod -R u+w "$dir.partial"  # the module cache's files are read-only
  echo "$KUEUE_VERSION" >"$dir.partial/VERSION"  # written last: the copy is whole
  rm -rf "$dir"
  mv "$dir.partial" "$dir"
  printf '    built in %s s\n' "$(($(date +%s) - start))"
fi
mkdir -p .work/bin
ln -sfn "$dir/kueue" .work/bin/kueue
