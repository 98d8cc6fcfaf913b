#!/usr/bin/env bash
# Build the compose deployment's images offline:
#   kubelite/base:bookworm       (deploy/build-base.sh, from Debian packages; skipped when it exists or when
#                                 BASE_IMAGE names another image, e.g. python:3.11-slim-bookworm)
#   kubelite/control-plane:dev   apiserver, scheduler, controller-manager, etcd, registry, certs, load balancer
#   kubelite/node:dev            dockerd + kubelet + kube-proxy + CNI plugins
# The Python code goes in as wheels built here on the host (pip wheel), so no build step needs the network.
#   deploy/build.sh [--host-ca]   --host-ca: add this host's CA bundle to the images (TLS-intercepting proxies)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
BASE_IMAGE=${BASE_IMAGE:-kubelite/base:bookworm}
TAG=${KUBELITE_TAG:-dev}
PYTHON=${PYTHON:-$repo/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3

if [ "$BASE_IMAGE" = kubelite/base:bookworm ]; then
  "$here/build-base.sh"
fi

build="$here/.build"
mkdir -p "$build/deps" "$build/kubelite" "$build/ca"
rm -f "$build/ca/ca-certificates.crt"
if [ "${1:-}" = --host-ca ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$build/ca/ca-certificates.crt"
fi

# Build the project wheel from a copy of the sources, so the work tree gets no build/ or egg-info litter.
src=$(mktemp -d /tmp/kubelite-src.XXXXXX)
trap 'rm -rf "$src"' EXIT
cp "$repo/pyproject.toml" "$repo/README.md" "$src/"
for pkg in apimachinery apiserver scheduler controller_manager kubelet kube_proxy netpol kube_dns metrics_server cli componenthost; do
  (cd "$repo" && find "$pkg" -name '*.py' -o -name '*.json' -o -name '*.yaml' -o -name '*.proto' -o -name 'py.typed') |
    grep -v __pycache__ | (cd "$repo" && xargs cp --parents -t "$src")
done
rm -f "$build"/kubelite/*.whl
pip_wheel() { # pip's warnings about absent local index folders are noise here; errors still show
  "$PYTHON" -m pip wheel -q --disable-pip-version-check "$@" 2> >(grep -v 'is ignored: it is neither' >&2)
}
pip_wheel --no-deps --wheel-dir "$build/kubelite" "$src"
# Dependencies: a separate folder (and image layer) that changes only when pyproject's dependencies do. The
# wheels are resolved into an empty folder, then the kept folder takes the new ones and drops those no longer
# wanted (an upgraded grpcio left both versions there, and pip refuses to install both); an unchanged wheel keeps
# its file, so Docker's layer cache holds.
rm -rf "$build/deps.new" && mkdir "$build/deps.new"
pip_wheel --wheel-dir "$build/deps.new" \
  $("$PYTHON" -c 'import tomllib,sys; print(" ".join(tomllib.load(open(sys.argv[1],"rb"))["project"]["dependencies"]))' "$repo/pyproject.toml")
for whl in "$build"/deps/*.whl; do
  [ -e "$whl" ] && [ ! -e "$build/deps.new/${whl##*/}" ] && rm -f "$whl"
done
for whl in "$build"/deps.new/*.whl; do
  [ -e "$build/deps/${whl##*/}" ] || mv "$whl" "$build/deps/"
done
rm -rf "$build/deps.new"

# The pod sandbox and busybox images for the nodes (built from busybox-static, no registry).
(cd "$repo" && "$PYTHON" -m apimachinery.localimages >/dev/null)
docker save -o "$build/images.tar" kubelite/pause:1 kubelite/busybox:1

docker build -q --force-rm --build-arg BASE_IMAGE="$BASE_IMAGE" -t "kubelite/control-plane:$TAG" \
  -f "$here/Dockerfile.control-plane" "$here" >/dev/null
docker build -q --force-rm --build-arg CONTROL_PLANE_IMAGE="kubelite/control-plane:$TAG" -t "kubelite/node:$TAG" \
  -f "$here/Dockerfile.node" "$here" >/dev/null
docker images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E "^kubelite/(base|control-plane|node):" || true
