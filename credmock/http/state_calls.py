"""Where the parts of a request that call the store run, so the event loop never waits on it.

A shared store (SQLite, Redis) answers over a file lock or a socket: a call may take as long as
the store's deadline (``--store-timeout``) when it is locked, paused or gone. A request's rule
over such a store runs in a portal (:mod:`credmock.store.from_loop`): each store call it makes
is awaited by the event loop (Redis through ``redis.asyncio``), run at once when it cannot wait
(SQLite with the file free), or handed to the store's threads; meanwhile the loop answers what
needs no state (the spec, the docs, liveness, the journal) and other requests. The memory store
answers in microseconds under its own lock: its calls run directly on the event loop.

A SQLite rule is tried directly on the event loop first, without the portal's greenlet (which
costs several microseconds a request): it needs the portal only when another process holds the
file's write lock, and then it starts over there, having changed nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from credmock.store.from_loop import Portal, WouldWait, run_directly

T = TypeVar("T")


class StateCalls:
    """Runs a function that may call the store: directly for a store that never blocks, else in
    a portal from which the store's calls never block the event loop.

    A store that can end a rule run directly on the loop (``end_direct_rule``: SQLite, whose
    calls wait only for another process's lock) has each rule tried there first, without the
    portal's greenlet; a rule that would have to wait runs again in the portal, from its start
    (it has changed nothing when that happens)."""

    def __init__(self, *, blocking: bool, end_direct_rule: Callable[[], None] | None = None) -> None:
        self.blocking = blocking
        self._end_direct_rule = end_direct_rule
        self._portal = Portal()

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if not self.blocking:
            return function(*args, **kwargs)
        if self._end_direct_rule is not None:
            try:
                return run_directly(self._end_direct_rule, function, *args, **kwargs)
            except WouldWait:
                pass
        return await self._portal.run(function, *args, **kwargs)
