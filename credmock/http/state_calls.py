"""Where the parts of a request that call the store run, so the event loop never waits on it.

A shared store (SQLite, Redis) answers over a file lock or a socket: a call may take as long as
the store's deadline (``--store-timeout``) when it is locked, paused or gone. A request's rule
over such a store runs in a portal (:mod:`credmock.store.from_loop`): each store call it makes
is awaited by the event loop (Redis through ``redis.asyncio``), run at once when it cannot wait
(SQLite with the file free), or handed to the store's threads; meanwhile the loop answers what
needs no state (the spec, the docs, liveness, the journal) and other requests. The memory store
answers in microseconds under its own lock: its calls run directly on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from credmock.store.from_loop import Portal

T = TypeVar("T")


class StateCalls:
    """Runs a function that may call the store: directly for a store that never blocks, else in
    a portal from which the store's calls never block the event loop."""

    def __init__(self, *, blocking: bool) -> None:
        self.blocking = blocking
        self._portal = Portal()

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if not self.blocking:
            return function(*args, **kwargs)
        return await self._portal.run(function, *args, **kwargs)
