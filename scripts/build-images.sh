#!/usr/bin/env bash
# `make images`: build the control-plane image (Dockerfile.operator) and the trainer image
# (Dockerfile.trainer) with whichever builder is here: docker (with a running daemon), podman or
# buildah. The tags are the chart's default image names at its appVersion, so a cluster with
# these images loaded runs the chart's defaults:
#   ghcr.io/wattcast/wattcast-operator:<appVersion>, ghcr.io/wattcast/wattcast-trainer:<appVersion>
#
# Where no registry is reachable, --local-base first makes the Dockerfiles' base image
# (debian:12.12-slim) from Debian packages with debootstrap (root needed), so the Dockerfiles
# build unchanged. The build itself needs Debian's apt mirror, PyPI and the npm registry.
#
#   scripts/build-images.sh [--local-base] [--builder docker|podman|buildah] [operator|trainer ...]
#
# Prints each image's build time and size. WATTCAST_IMAGE_BUILDER picks the builder too.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'build-images: %s\n' "$*" >&2; exit 2; }

BASE_IMAGE=docker.io/library/debian:12.12-slim
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
builder=${WATTCAST_IMAGE_BUILDER:-}
local_base=0
images=()
while (($#)); do
  case $1 in
    --local-base) local_base=1 ;;
    --builder) builder=$2; shift ;;
    operator|trainer) images+=("$1") ;;
    *) die "unknown argument: $1" ;;
  esac
  shift
done
((${#images[@]})) || images=(operator trainer)

# The builder: the first that works (a docker client without a daemon does not).
usable() {
  case $1 in
    docker) command -v docker >/dev/null && docker info >/dev/null 2>&1 ;;
    podman|buildah) command -v "$1" >/dev/null ;;
    *) return 1 ;;
  esac
}
if [ -z "$builder" ]; then
  for candidate in docker podman buildah; do
    if usable "$candidate"; then builder=$candidate; break; fi
  done
fi
[ -n "$builder" ] || die "no image builder: install docker, or Debian's podman or buildah (apt-get install buildah)"
usable "$builder" || die "$builder is not usable here"
log "builder: $builder"

# podman and buildah in a container: chroot isolation needs no nested namespaces.
export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}

have_image() {
  case $builder in
    docker) docker image inspect "$1" >/dev/null 2>&1 ;;
    *) "$builder" inspect --type image "$1" >/dev/null 2>&1 ;;
  esac
}

# The base from Debian packages: a minbase bookworm root file system, imported under the name
# the Dockerfiles use.
make_local_base() {
  command -v debootstrap >/dev/null || die "--local-base needs debootstrap (apt-get install debootstrap)"
  [ "$(id -u)" -eq 0 ] || die "--local-base needs root (debootstrap)"
  local root started
  root=$(mktemp -d)
  trap 'rm -rf "$root"' RETURN
  started=$SECONDS
  log "making $BASE_IMAGE with debootstrap ($SUITE, $MIRROR)"
  debootstrap --variant=minbase "$SUITE" "$root/rootfs" "$MIRROR" >"$root/debootstrap.log" 2>&1 \
    || { tail -20 "$root/debootstrap.log" >&2; die "debootstrap failed"; }
  # What Debian's slim images leave out: the package lists and caches, docs and man pages.
  rm -rf "$root/rootfs/var/lib/apt/lists/"* "$root/rootfs/var/cache/apt/"*.bin \
    "$root/rootfs/usr/share/doc/"* "$root/rootfs/usr/share/man/"*
  tar -C "$root/rootfs" -c . >"$root/rootfs.tar"
  case $builder in
    docker) docker import --change 'CMD ["bash"]' "$root/rootfs.tar" "$BASE_IMAGE" >/dev/null ;;
    podman) podman import --change 'CMD ["bash"]' "$root/rootfs.tar" "$BASE_IMAGE" >/dev/null ;;
    buildah)
      local ctr
      ctr=$(buildah from scratch)
      buildah add --quiet "$ctr" "$root/rootfs.tar" / >/dev/null
      buildah config --cmd bash --os linux --arch "$(dpkg --print-architecture 2>/dev/null || echo amd64)" "$ctr"
      buildah commit --quiet "$ctr" "$BASE_IMAGE" >/dev/null
      buildah rm "$ctr" >/dev/null
      ;;
  esac
  log "base made in $((SECONDS - started)) s"
}

if ((local_base)) && ! have_image "$BASE_IMAGE"; then
  make_local_base
fi

version=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/wattcast/Chart.yaml)
[ -n "$version" ] || die "no appVersion in charts/wattcast/Chart.yaml"
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

# The image's size, as "<n> MB".
image_size() {
  case $builder in
    docker) echo "$(( $(docker image inspect --format '{{.Size}}' "$1") / 1000000 )) MB" ;;
    podman) echo "$(( $(podman image inspect --format '{{.Size}}' "$1") / 1000000 )) MB" ;;
    buildah) buildah images --noheading --format '{{.Size}}' "$1" | head -n1 ;;
  esac
}

for image in "${images[@]}"; do
  tag="ghcr.io/wattcast/wattcast-$image:$version"
  log "building $tag from Dockerfile.$image"
  started=$SECONDS
  args=(--file "Dockerfile.$image" --tag "$tag" --build-arg "VERSION=$version" --build-arg "REVISION=$revision")
  # Behind a TLS-intercepting proxy (SSL_CERT_FILE names a bundle with its CA), the RUN steps
  # get that bundle at /run/build-ca.crt (podman, buildah); the image never holds it.
  if [ -n "${SSL_CERT_FILE:-}" ] && [ -f "$SSL_CERT_FILE" ] && [ "$builder" != docker ]; then
    args+=(--volume "$SSL_CERT_FILE:/run/build-ca.crt:ro")
    for variable in SSL_CERT_FILE PIP_CERT NODE_EXTRA_CA_CERTS; do
      args+=(--build-arg "$variable=/run/build-ca.crt")
    done
  fi
  case $builder in
    docker) docker build "${args[@]}" . ;;
    # Never pull what is here already (the local base), pull what is missing.
    podman) podman build --pull=missing --layers "${args[@]}" . ;;
    buildah) buildah build --pull=missing --layers "${args[@]}" . ;;
  esac
  seconds=$((SECONDS - started))
  size=$(image_size "$tag")
  printf '%s: built in %d s, %s\n' "$tag" "$seconds" "$size"
done
