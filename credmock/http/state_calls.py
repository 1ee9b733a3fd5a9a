"""Where the parts of a request that call the store run, so the event loop never waits on it.

A shared store (SQLite, Redis) answers over a file lock or a socket: a call may take as long as
the store's deadline (``--store-timeout``) when it is locked, paused or gone. Such calls run on a
bounded pool of threads of their own, so the event loop keeps answering what needs no state
(the spec, the docs, liveness, the journal) and other requests are not queued behind one slow
call. The memory store answers in microseconds under its own lock: its calls stay on the event
loop, where the hop between threads would cost more than the call (``make bench`` compares).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

# Threads calling a shared store at once: more than the connections a load test opens, few
# enough that a hanging store ties up only them (each call ends at the store's deadline).
STATE_THREADS = 32


class StateCalls:
    """Runs a function that may call the store: inline for a store that never blocks, else on
    this app's threads (the caller's context variables go along)."""

    def __init__(self, *, blocking: bool, threads: int = STATE_THREADS) -> None:
        self.blocking = blocking
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:  # threads start on first use, after a fork of the workers
            self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="credmock-state")
        return self._executor

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if not self.blocking:
            return function(*args, **kwargs)
        context = contextvars.copy_context()
        call = functools.partial(context.run, function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
