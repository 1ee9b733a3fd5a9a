#!/usr/bin/env bash
# Install the headless browser that the browser tests drive: Debian's chromium package
# (a browser download at test time is impossible on our machines). Idempotent: a no-op when
# chromium is already installed. Needs root or sudo for apt-get.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "install-browser: chromium already installed at $(command -v chromium)"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-browser: need root (or sudo) to apt-get install chromium" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
echo "install-browser: installed $(chromium --version 2>/dev/null || command -v chromium)"
