#!/usr/bin/env bash
# Build the offline base image kubelite/base:bookworm from Debian packages (no container registry needed):
# debootstrap a minbase bookworm with python3, dockerd, CNI plugins, iptables, ipset, etcd and the registry, then
# `docker import` it. Needs root and an apt mirror (MIRROR, default http://deb.debian.org/debian). ~1-2 min.
#   deploy/build-base.sh            build unless the image exists
#   deploy/build-base.sh --force    rebuild
set -euo pipefail
IMAGE=${BASE_IMAGE_NAME:-kubelite/base:bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-bookworm}
PACKAGES=python3,python3-venv,ca-certificates,docker.io,containernetworking-plugins,iptables,ipset,iproute2,etcd-server,docker-registry,busybox-static,procps,openssl

if [ "${1:-}" != "--force" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE exists (pass --force to rebuild)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "build-base.sh needs root (debootstrap)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

root=$(mktemp -d /tmp/kubelite-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "debootstrap $SUITE into $root"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 || {
  tail -30 "$root.log" >&2
  rm -f "$root.log"
  exit 1
}
rm -f "$root.log"
# Trim what a container never needs: apt lists and caches, docs, man pages, locales.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
# Installing docker.io in a chroot enables services that never run here; the images start what they need.
rm -f "$root"/etc/docker/daemon.json
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$IMAGE" >/dev/null
echo "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
