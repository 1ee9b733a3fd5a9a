#!/usr/bin/env bash
# Build the credmock image: fill build/wheelhouse/, then build the Dockerfile with podman (or docker
# where podman is missing). Extra arguments go to the build command, e.g. --pull=never.
#
#   scripts/image/build.sh [--pull=never ...]      # IMAGE=localhost/credmock:latest by default
set -euo pipefail
cd "$(dirname "$0")/../.."

image=${IMAGE:-localhost/credmock:latest}
engine=${CONTAINER_ENGINE:-$(command -v podman >/dev/null 2>&1 && echo podman || echo docker)}

scripts/image/wheelhouse.sh build/wheelhouse

flags=(--tag "$image" --file Dockerfile)
if [ "$(basename "$engine")" = podman ]; then
    # Docker's image format keeps HEALTHCHECK (the OCI format drops it). runc: crun refuses hosts
    # with hybrid cgroups. The host network: apt-get inside the build reaches the Debian mirror
    # exactly as the host's apt does (same resolver, same proxy settings), with no bridge to set up.
    flags+=(--format docker)
    if command -v runc >/dev/null 2>&1; then flags+=(--runtime runc); fi
fi
# The host's apt proxy, if any, for apt-get inside the build (build arguments, not baked in).
for variable in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    if [ -n "${!variable:-}" ]; then flags+=(--build-arg "$variable"); fi
done

"$engine" build "${flags[@]}" "$@" .
echo "image/build: built $image ($("$engine" image inspect --format '{{.Size}}' "$image") bytes)"
