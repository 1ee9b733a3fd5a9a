"""API coverage of a client suite: which operations of the contract (storefront included) it
called, which of their declared statuses it reached, and which error types it saw.

Each answered contract request adds one to the count of (operationId, status, error type), the
error type read from the answer the client got (an ``ErrorMessage``'s ``type``, an Apigee
fault's ``errorcode``). The counts live in the store (:class:`CoverageCounts`, which every store
implements), so every worker and every instance on a shared store adds to one count. A request
only adds to a count in this process's memory; the counts of the requests answered in one turn
of the event loop go to the store in one write, after the answers are sent, and at most one
write every :data:`WRITE_INTERVAL` seconds: a client that sends request after request pays for
one store write per interval, not one per request. A report reads the counts once every
process has written what it counted before the report was asked for (on a shared store it
waits out one interval first).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from credmock.core.coverage import CoverageKey
from credmock.observe.exchanges import Exchange

logger = logging.getLogger("credmock")

# Seconds between two writes of one process's counts to the store, at most.
WRITE_INTERVAL = 0.01
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class CoverageCounts(Protocol):
    """Where the counts are kept: the store (see ``credmock.store.base.Store``)."""

    def add_coverage(self, counts: Mapping[CoverageKey, int]) -> None: ...

    def coverage(self) -> dict[CoverageKey, int]: ...

    def clear_coverage(self) -> None: ...


@dataclass(frozen=True)
class DeclaredOperation:
    operation_id: str
    method: str
    path: str
    statuses: tuple[int, ...]  # the statuses its responses declare, ascending


def declared_operations(spec: Mapping[str, Any]) -> tuple[DeclaredOperation, ...]:
    """The operations of an OpenAPI document, in its order, with their declared statuses (a
    ``default`` response or a range such as ``4XX`` names no status and is left out)."""
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in _HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            statuses = sorted(int(code) for code in operation.get("responses", {}) if str(code).isdigit())
            found.append(DeclaredOperation(operation["operationId"], method.upper(), path, tuple(statuses)))
    return tuple(found)


def error_type(answer: bytes) -> str:
    """The error type of an error answer: its ``type`` (``ErrorMessage``), or the ``errorcode``
    of its Apigee ``fault``; "" when it has none (not JSON, another shape, cut off)."""
    try:
        body = json.loads(answer)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    if isinstance(body.get("type"), str):
        return body["type"]
    fault = body.get("fault")
    detail = fault.get("detail") if isinstance(fault, dict) else None
    errorcode = detail.get("errorcode") if isinstance(detail, dict) else None
    return errorcode if isinstance(errorcode, str) else ""


@dataclass
class OperationCoverage:
    """What a client did with one operation."""

    operation: DeclaredOperation
    statuses_seen: dict[int, int] = field(default_factory=dict)  # status -> requests
    error_types_seen: dict[tuple[int, str], int] = field(default_factory=dict)  # (status, type) -> requests

    @property
    def requests(self) -> int:
        return sum(self.statuses_seen.values())

    @property
    def statuses_not_seen(self) -> list[int]:
        return [status for status in self.operation.statuses if status not in self.statuses_seen]

    @property
    def declared_statuses_seen(self) -> int:
        return len(self.operation.statuses) - len(self.statuses_not_seen)


def coverage_of(
    operations: Iterable[DeclaredOperation], counts: Mapping[CoverageKey, int]
) -> list[OperationCoverage]:
    """The coverage of each operation from the counts; an operation the counts name but the
    documents do not (counted by another version of credmock on a shared store) comes last."""
    by_id = {operation.operation_id: OperationCoverage(operation) for operation in operations}
    for (operation_id, status, kind), requests in sorted(counts.items()):
        entry = by_id.get(operation_id)
        if entry is None:
            entry = by_id[operation_id] = OperationCoverage(DeclaredOperation(operation_id, "", "", ()))
        entry.statuses_seen[status] = entry.statuses_seen.get(status, 0) + requests
        if kind:
            entry.error_types_seen[(status, kind)] = entry.error_types_seen.get((status, kind), 0) + requests
    return list(by_id.values())


class Coverage:
    """Counts each answered contract request (a recorder of the observing middleware) and reads
    the counts back, its own not yet written included."""

    def __init__(
        self,
        counts: CoverageCounts,
        operations: Sequence[DeclaredOperation],
        *,
        shared: bool = False,
        run: Callable[[Callable[[], None]], Awaitable[None]] | None = None,
    ) -> None:
        """``shared``: other processes add to ``counts`` too (a SQLite file, Redis). ``run``:
        how the event loop calls a function that writes to ``counts`` without waiting on it (the
        app's state calls); without it, the write is called on the loop (a memory store)."""
        self.counts = counts
        self.operations = tuple(operations)
        self.shared = shared
        self._run = run
        self._writes: set[asyncio.Task[None]] = set()  # running, kept until done
        self._pending: dict[CoverageKey, int] = {}
        self._lock = threading.Lock()
        self._flush_loop: asyncio.AbstractEventLoop | None = None  # where the write is scheduled
        self._last_write = 0.0  # time.monotonic()

    def record(self, exchange: Exchange) -> None:
        if not exchange.contract or exchange.status is None or exchange.operation_id is None:
            return
        kind = error_type(exchange.answer) if exchange.status >= 400 else ""
        key = (exchange.operation_id, exchange.status, kind)
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._lock:
            self._pending[key] = self._pending.get(key, 0) + 1
            if loop is not None and loop is self._flush_loop:
                return  # the write of this turn is scheduled already
            self._flush_loop = loop
        if loop is None:
            self.flush()
            return
        wait = self._last_write + WRITE_INTERVAL - time.monotonic()
        if wait > 0:
            loop.call_later(wait, self._flush_from_loop, loop)
        else:
            loop.call_soon(self._flush_from_loop, loop)  # after this turn: the answer is sent first

    def _flush_from_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._run is None:
            self.flush()
            return
        write = loop.create_task(self._run(self.flush))
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)

    def flush(self) -> None:
        """Add the counts not yet written to the store. A store that fails keeps nothing back:
        the counts wait for the next write."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._flush_loop = None
        if not pending:
            return
        self._last_write = time.monotonic()
        try:
            self.counts.add_coverage(pending)
        except Exception as error:  # a failure of any store (its StoreError, sqlite3, redis)
            logger.warning("the API coverage could not be written, kept for the next write: %s", error)
            self._keep_back(pending)
        except BaseException:  # cut short (cancelled), or started over where it may wait: the
            self._keep_back(pending)  # counts go with the next write
            raise

    def _keep_back(self, pending: dict[CoverageKey, int]) -> None:
        with self._lock:
            for key, requests in pending.items():
                self._pending[key] = self._pending.get(key, 0) + requests

    def report(self) -> list[OperationCoverage]:
        """Every operation's coverage, as every process counted it: on a shared store, once the
        other processes have written what they counted until now."""
        self.flush()
        if self.shared:
            time.sleep(WRITE_INTERVAL)  # a diagnostic read: one interval, for complete counts
        return coverage_of(self.operations, self.counts.coverage())

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
        self.counts.clear_coverage()
