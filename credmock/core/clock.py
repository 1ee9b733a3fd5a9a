"""The mock's one clock: real time (or a fixed start) plus an offset that tests can advance.

The offset lives in the store, so with a shared store one instance's ``/_mock/clock`` moves the
clock of all of them. Reading it is a round trip to a shared store, and a request reads the time
several times: :meth:`Clock.now` takes an offset this process read at most
:data:`OFFSET_REUSE` seconds ago (a shared store reads it in the same round trip as the access
token each request starts with, so a token check sees another instance's move at once), while
:attr:`Clock.offset` always reads it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

# The clock and token lifetimes stay within what a timestamp can show (ISO 8601, year 9999).
LATEST_TIME = datetime(9999, 12, 31, tzinfo=UTC).timestamp()
# Seconds an offset read from the store serves :meth:`Clock.now` again.
OFFSET_REUSE = 0.25


class OffsetKeeper(Protocol):
    def clock_offset(self, max_age: float = 0.0) -> float:
        """The offset; with ``max_age``, possibly as this process read it up to that many seconds
        ago (its own moves and resets are always seen)."""


    def advance_clock(self, seconds: float) -> float: ...


class _LocalOffset:
    def __init__(self) -> None:
        self._offset = 0.0

    def clock_offset(self, max_age: float = 0.0) -> float:
        return self._offset

    def advance_clock(self, seconds: float) -> float:
        self._offset += seconds
        return self._offset


class Clock:
    """Seconds since the epoch, as a float.

    With ``start=None`` the clock follows the system time; with a number it stands still at
    that instant. Either way ``advance()`` moves it forward, which is how expiry is tested
    without waiting; clearing the store takes the advance back.
    """

    def __init__(self, start: float | None = None, offsets: OffsetKeeper | None = None) -> None:
        self._start = start
        self._offsets = offsets or _LocalOffset()

    def now(self) -> float:
        base = time.time() if self._start is None else self._start
        return base + self._offsets.clock_offset(max_age=OFFSET_REUSE)

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offsets.advance_clock(seconds)
        return self.now()

    @property
    def offset(self) -> float:
        """The offset as the store holds it now (read, never reused)."""
        return self._offsets.clock_offset()

    @property
    def follows_system_time(self) -> bool:
        return self._start is None


def iso_time(timestamp: float) -> str:
    """ISO 8601 in UTC with milliseconds and a ``Z``, as the service writes times."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
