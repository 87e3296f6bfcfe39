#!/usr/bin/env bash
# Builds the test bed's control plane (devtools/controlplane: etcd, kube-apiserver and
# kube-controller-manager from the Go module proxy) into a cache keyed by its inputs, and links
# it as .work/bin/wattcast-controlplane. A fresh machine pays the build once (about 20-30 min on
# 2 cores); afterwards, and in every fresh clone on the same machine, this takes a second.
# The binary is never committed: the cache lives outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
src=devtools/controlplane
cache_root=${WATTCAST_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wattcast}
command -v go >/dev/null 2>&1 || { echo "build-controlplane: Go 1.24 or newer is needed" >&2; exit 1; }
kube_version=$(cd "$src" && go list -m -f "{{.Version}}" k8s.io/kubernetes)
commit=$(GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$kube_version" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Origin", {}).get("Hash", ""))')
minor=${kube_version#v1.}; minor=${minor%%.*}
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitCommit=${commit:-unknown} -X $pkg.gitTreeState=clean"
  ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
# The inputs: the toolchain, the module's files and the link flags.
key=$( (go version; cat "$src/go.mod" "$src/go.sum" "$src"/*.go; echo "$ldflags") | sha256sum | cut -c1-16)
out="$cache_root/controlplane-$key/wattcast-controlplane"

if [ ! -x "$out" ]; then
  printf '\033[1m==> building the control plane (Kubernetes %s, etcd) from the Go module proxy:\033[0m\n' "$kube_version"
  printf '    the first build takes about 20-30 minutes on 2 cores; later runs reuse %s\n' "$out"
  mkdir -p "$(dirname "$out")"
  start=$(date +%s)
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w$ldflags" -o "$out.partial" .)
  mv "$out.partial" "$out"
  printf '    built in %s s\n' "$(($(date +%s) - start))"
fi
mkdir -p .work/bin
ln -sfn "$out" .work/bin/wattcast-controlplane
