"""Deadlines for the store calls a request awaits on the event loop, kept by one timer per loop.

``asyncio.timeout(seconds)`` arms a timer of the loop's for every call and disarms it when the
call ends; on uvloop that is a libuv timer started and stopped for every Redis command, a few
percent of a request's CPU. Here each call enters ``asyncio.timeout(None)`` (no timer) and one
check every :data:`TICK` seconds reschedules, to now, the timeouts of the calls past their
deadline: asyncio then cuts them short exactly as ``asyncio.timeout`` would. A call may so
overrun its deadline by up to one tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

TICK = 0.05  # seconds between checks, while calls run; at most a tenth of the deadline


class Deadlines:
    """Every call through :meth:`within` on one event loop ends by ``seconds`` (plus a tick) with
    ``TimeoutError``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._tick = min(TICK, seconds / 10)
        # the timeouts of the running calls -> their deadlines; all calls wait as long, so the
        # order of insertion is the order of the deadlines
        self._running: dict[asyncio.Timeout, float] = {}
        self._check: asyncio.TimerHandle | None = None

    async def within(self, awaitable: Awaitable[T]) -> T:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(None) as cut:
            self._running[cut] = loop.time() + self.seconds
            if self._check is None:
                self._check = loop.call_later(self._tick, self._cut_overdue, loop)
            try:
                return await awaitable
            finally:
                self._running.pop(cut, None)

    def _cut_overdue(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for cut, deadline in list(self._running.items()):
            if deadline > now:
                break
            del self._running[cut]
            cut.reschedule(now)
        self._check = loop.call_later(self._tick, self._cut_overdue, loop) if self._running else None
