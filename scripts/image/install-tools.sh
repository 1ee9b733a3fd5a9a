#!/usr/bin/env bash
# Install what the image test needs from Debian's packages: podman (with runc, which works on hosts
# whose hybrid cgroups crun refuses) and debootstrap (to make the Debian base image locally when no
# image registry is reachable), and Debian's python3-pip, with which the wheelhouse is resolved as the
# image's own python3 resolves it. Idempotent. Needs root or sudo.
set -euo pipefail
exec "$(dirname "$0")/../apt-install.sh" podman runc debootstrap python3-pip
