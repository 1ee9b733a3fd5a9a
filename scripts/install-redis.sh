#!/usr/bin/env bash
# Install the Redis server that the Redis store tests start (on a free port, in a temporary
# folder): Debian's redis-server package. Idempotent: a no-op when redis-server is installed.
# Needs root or sudo for apt-get; waits for another apt-get to finish instead of failing.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
    echo "install-redis: redis-server already installed ($(redis-server --version | cut -d' ' -f3))"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-redis: need root (or sudo) to apt-get install redis-server" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt=("${as_root[@]}" apt-get -o DPkg::Lock::Timeout=600)
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends redis-server >/dev/null
echo "install-redis: installed $(redis-server --version | cut -d' ' -f3)"
