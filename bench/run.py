"""``python bench/run.py [options]``: the bench (the ``bench`` package; ``--help`` lists the options)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
