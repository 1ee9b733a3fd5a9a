"""credmock with every request left to Connexion's per-request middleware (no compiled
operations), served as ``credmock serve`` serves it: the bench's measure of what compiling the
operations at load time gives. Run: ``python bench/uncompiled.py PORT``."""

from __future__ import annotations

import sys

import uvicorn

from credmock.app import create_app

if __name__ == "__main__":
    app = create_app(compile_operations=False)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
