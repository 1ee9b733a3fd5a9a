#!/usr/bin/env bash
# Install the headless browser that the browser tests drive: Debian's chromium package
# (a browser download at test time is impossible on our machines). Idempotent: a no-op when
# chromium is already installed. Needs root or sudo for apt-get.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    echo "install-browser: chromium already installed at $(command -v chromium)"
    exit 0
fi

"$(dirname "$0")/apt-install.sh" chromium fonts-liberation
echo "install-browser: installed $(chromium --version 2>/dev/null || command -v chromium)"
