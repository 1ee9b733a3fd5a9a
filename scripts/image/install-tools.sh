#!/usr/bin/env bash
# Install what the image test needs from Debian's packages: podman (with runc, which works on hosts
# whose hybrid cgroups crun refuses) and debootstrap (to make the Debian base image locally when no
# image registry is reachable). Idempotent. Needs root or sudo.
set -euo pipefail
exec "$(dirname "$0")/../apt-install.sh" podman runc debootstrap
