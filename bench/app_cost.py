"""CPU time per request of each app itself, in-process: no server, no sockets, no load driver.

The load figures of :mod:`bench.cli` depend on what else the machine runs; this does not (much):
the bench's reset request is handed to the ASGI app over and over on one event loop, and the
process's CPU time is divided by the requests (the best of a few rounds). What it leaves out,
uvicorn's parsing and the sockets, costs every server the same. Log lines go to /dev/null.

Run: ``.venv/bin/python bench/app_cost.py [--requests N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scenarios import RESET, TENANT
from credmock.app import create_app
from credmock.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent


def ceiling_app() -> tuple[Any, str]:
    spec = importlib.util.spec_from_file_location("bench_ceiling", BENCH_DIR / "ceiling.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app, "any-token-will-do"


def credmock_app(settings: Settings, compile_operations: bool = True) -> tuple[Any, str]:
    app = create_app(settings, compile_operations=compile_operations)
    token = app.test_client().post("/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"})
    return app, token.json()["access_token"]


def sqlite_app(stack: contextlib.ExitStack) -> tuple[Any, str]:
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="credmock-cost-")))
    return credmock_app(Settings(state=f"sqlite:///{folder / 'state.db'}"))


def redis_app(stack: contextlib.ExitStack) -> tuple[Any, str]:
    """Over a redis-server of its own: the CPU counted is credmock's (the client's), not Redis's."""
    from credmock.tools.testing import RedisServer

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="credmock-cost-")))
    server = stack.enter_context(RedisServer(folder))
    return credmock_app(Settings(state=server.url, reset_on_start=True))


# key -> the app and a bearer token it accepts; the keys are those of the load bench's targets.
APPS: dict[str, Callable[[contextlib.ExitStack], tuple[Any, str]]] = {
    "credmock": lambda stack: credmock_app(Settings()),
    "credmock-quiet": lambda stack: credmock_app(Settings(quiet=True, journal_size=0)),
    "uncompiled": lambda stack: credmock_app(Settings(), compile_operations=False),
    "ceiling": lambda stack: ceiling_app(),
    "credmock-sqlite": sqlite_app,
    "credmock-redis": redis_app,
}
DEFAULT_APPS = ("credmock", "credmock-quiet", "uncompiled", "ceiling")


def request_of(token: str) -> tuple[dict[str, Any], bytes]:
    """The scope and body of the reset scenario's request, as uvicorn hands them to the app."""
    step = RESET.steps[0]
    values = RESET.values(1, 1, token)
    body = RESET.expand(step.body or "", values).encode()
    path = RESET.expand(step.path, values)
    headers = [(b"host", b"127.0.0.1:8080"), (b"content-length", str(len(body)).encode())]
    headers += [
        (name.lower().encode(), RESET.expand(value, values).encode()) for name, value in step.headers.items()
    ]
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 50000), "scheme": "http", "root_path": "",
        "method": step.method, "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": headers,
    }  # fmt: skip
    return scope, body


async def answer(app: Any, scope: dict[str, Any], body: bytes) -> int:
    """One request through ``app``: the status it answers."""
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays: nothing more arrives
        raise AssertionError("not reached")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app({**scope, "headers": list(scope["headers"])}, receive, send)
    return status


async def microseconds_per_request(app: Any, token: str, requests: int, rounds: int = 5) -> float:
    scope, body = request_of(token)
    expected = RESET.steps[0].expect
    for _ in range(min(2000, requests)):  # warm up: routes, validators, caches
        status = await answer(app, scope, body)
        if status != expected:
            raise RuntimeError(f"the app answered {status}, not {expected}")
    gc.collect()
    gc.freeze()  # as `credmock serve` does
    best = float("inf")
    for _ in range(rounds):
        began = time.process_time()
        for _ in range(requests):
            await answer(app, scope, body)
        best = min(best, (time.process_time() - began) / requests * 1e6)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000, help="requests per round (best of 5 rounds)")
    parser.add_argument(
        "--apps", default=",".join(DEFAULT_APPS), help=f"comma-separated, of: {', '.join(APPS)}"
    )
    options = parser.parse_args(argv)
    import uvloop

    costs: dict[str, float] = {}
    for key in [key.strip() for key in options.apps.split(",") if key.strip()]:
        with (
            contextlib.ExitStack() as stack,
            open(os.devnull, "w") as devnull,
            contextlib.redirect_stdout(devnull),
        ):
            app, token = APPS[key](stack)
            costs[key] = uvloop.run(microseconds_per_request(app, token, options.requests))
    ceiling = costs.get("ceiling")
    print(f"CPU per request, in-process ({RESET.description}):")
    for key, cost in costs.items():
        share = f"  (ceiling / this: {ceiling / cost:.2f}x)" if ceiling and key != "ceiling" else ""
        print(f"  {key:16} {cost:6.1f} µs{share}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
