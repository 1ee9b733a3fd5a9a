"""Run a command beside a throwaway redis-server: ``with_redis.py FOLDER COMMAND...`` starts Redis
on a free port with its files in FOLDER, runs COMMAND with ``REDIS_URL`` replaced by its URL, and
stops Redis when the command ends (a SIGTERM to this process is passed on to the command).
The bench uses it to measure ``credmock serve --state redis://...``."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from credmock.tools.testing import RedisServer


def main(argv: list[str]) -> int:
    folder, command = Path(argv[0]), argv[1:]
    with RedisServer(folder) as redis:
        child = subprocess.Popen([part.replace("REDIS_URL", redis.url) for part in command])
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
