#!/usr/bin/env bash
# Install what the image test needs from Debian's packages: podman (with runc, which works on hosts
# whose hybrid cgroups crun refuses) and debootstrap (to make the Debian base image locally when no
# image registry is reachable). Idempotent: a no-op when all are installed. Needs root or sudo.
set -euo pipefail

packages=(podman runc debootstrap)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "image/install-tools: podman, runc and debootstrap already installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "image/install-tools: need root (or sudo) to apt-get install ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt=("${as_root[@]}" apt-get -o DPkg::Lock::Timeout=600)
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "image/install-tools: installed ${missing[*]}"
