"""How a shared store is called by a request that runs on the event loop, without the loop ever
waiting on the store.

A request's rule is plain synchronous code (:mod:`credmock.domain`). The web layer runs it in a
greenlet (:class:`Portal`); a store method called there
(:func:`on_event_loop`) may hand an awaitable to the loop (:func:`wait`): the greenlet switches
to the loop, which awaits it while serving other requests, and back with the result. Each store
decides per method:

- Redis sends its commands through ``redis.asyncio``: the request waits for the answer, the loop
  does not, and no thread is involved;
- SQLite runs a call at once when the file is free (a statement takes microseconds) and hands
  it to a thread (:class:`Threads`) when the file is locked, where it may wait for the lock as
  long as the store's deadline. Its rules are even tried outside any portal first
  (:func:`run_directly`), where a call that would wait raises :class:`WouldWait` instead;
- anything else (a ``WATCH``/``MULTI`` transaction) runs on a thread.

The bridge is ours rather than ``greenback``'s: greenback relays each step of the awaited
coroutine between the greenlet and the loop, and served 14% fewer Redis requests a second here
(docs/performance.md). Only ``greenlet``'s public API is used.

Outside a portal (the Flask engine's threads, a test calling the domain, a store thread) every
call is the plain synchronous one.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, TypeVar

import greenlet

T = TypeVar("T")

# Threads waiting on a shared store at once: more than the connections a load test opens, few
# enough that a hanging store ties up only them (each call ends at the store's deadline).
STORE_THREADS = 32


# How the running request's rule runs: not on the event loop (""), in its portal ("portal":
# its store calls may wait), or directly on the loop ("direct": they may not); a store thread
# runs with "".
_MODE: ContextVar[str] = ContextVar("credmock_rule_mode", default="")
PORTAL = "portal"
DIRECT = "direct"


def on_event_loop() -> bool:
    """Whether this call comes from a request's rule on the event loop."""
    return _MODE.get() != ""


def can_wait() -> bool:
    """Whether a store call made here may wait for its store (in a portal), rather than raise
    :class:`WouldWait` (in a rule run directly on the loop)."""
    return _MODE.get() == PORTAL


class WouldWait(BaseException):
    """A store call of a rule run directly on the loop would have to wait (another process holds
    the lock it needs). Raised only while the rule has changed nothing, so the rule runs again
    from its start in a portal. A BaseException: no rule's ``except Exception`` takes it for a
    failure of its own."""


def run_directly(end: Callable[[], None], function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)`` on the event loop itself, its store calls made without
    waiting; ``end()`` after it, whatever its outcome (the store ends the rule: SQLite commits
    what it wrote). Raises :class:`WouldWait` for the caller to run it in a portal instead."""
    entered = _MODE.set(DIRECT)
    try:
        return function(*args, **kwargs)
    finally:
        _MODE.reset(entered)
        end()


class _Done:
    """What a rule's greenlet hands back when the rule has ended: its result or its error."""

    __slots__ = ("error", "result")

    def __init__(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result = result
        self.error = error


class _RuleRunner(greenlet.greenlet):
    """A greenlet that runs one rule after another. Kept for the next request when its rule
    ends: a new greenlet would allocate (and map) a frame stack of its own for every request,
    which costs more than the rest of the portal (about 17 µs a request, ``bench/app_cost.py``)."""

    def __init__(self) -> None:
        super().__init__(self._serve)

    def _serve(self, rule: Callable[[], Any]) -> None:
        while True:
            try:
                done = _Done(result=rule())
            except BaseException as error:  # handed to the caller, raised there
                done = _Done(error=error)
            rule = None  # type: ignore[assignment]  # nothing of the rule outlives it
            rule = self.parent.switch(done)  # type: ignore[union-attr]


IDLE_RUNNERS = 64  # kept beyond this many, a runner is dropped when its rule ends


def wait(awaitable: Awaitable[T]) -> T:
    """The result of ``awaitable``, awaited by the event loop while this request's rule is
    suspended (only where :func:`on_event_loop`)."""
    return greenlet.getcurrent().parent.switch(awaitable)  # type: ignore[union-attr]


class Portal:
    """Runs a request's rule so that it can :func:`wait` (what the web layer calls), in a rule
    runner of this portal's, kept for the next rule of the same thread's event loop."""

    def __init__(self) -> None:
        self._idle = threading.local()  # .runners: the runners of this thread not running a rule

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)``, able to :func:`wait`."""
        if _MODE.get() == PORTAL:
            return function(*args, **kwargs)
        idle: list[_RuleRunner] | None = getattr(self._idle, "runners", None)
        if idle is None:
            idle = self._idle.runners = []
        runner = idle.pop() if idle else _RuleRunner()
        entered = _MODE.set(PORTAL)
        try:
            runner.gr_context = greenlet.getcurrent().gr_context  # the request's context variables
            handed = runner.switch(functools.partial(function, *args, **kwargs))
            while type(handed) is not _Done:
                try:
                    answer = await handed
                except BaseException as error:  # thrown into the rule, which may handle it
                    handed = runner.throw(error)
                else:
                    handed = runner.switch(answer)
        except BaseException:
            runner = None  # type: ignore[assignment]  # cut short (cancelled): not reused
            raise
        finally:
            _MODE.reset(entered)
            if runner is not None and len(idle) < IDLE_RUNNERS:
                runner.gr_context = None
                idle.append(runner)
        if handed.error is not None:
            raise handed.error
        return handed.result


class Threads:
    """A bounded pool of threads for the store calls that must block, started on first use (so
    after the workers fork)."""

    def __init__(self, threads: int = STORE_THREADS) -> None:
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="credmock-store")
            return self._executor

    def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` on one of these threads, the event loop serving other
        requests meanwhile; called where :func:`on_event_loop`."""
        context = contextvars.copy_context()
        context.run(_MODE.set, "")  # the thread calls the store directly
        call = functools.partial(context.run, function, *args, **kwargs)
        return wait(asyncio.get_running_loop().run_in_executor(self._pool(), call))

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
