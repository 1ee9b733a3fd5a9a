#!/usr/bin/env bash
# Install the Redis server that the Redis store tests start (on a free port, in a temporary
# folder): Debian's redis-server package. Idempotent: a no-op when redis-server is installed.
# Needs root or sudo for apt-get; waits for another apt-get to finish instead of failing.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
    echo "install-redis: redis-server already installed ($(redis-server --version | cut -d' ' -f3))"
    exit 0
fi

"$(dirname "$0")/apt-install.sh" redis-server
echo "install-redis: installed $(redis-server --version | cut -d' ' -f3)"
