"""The mock's one clock: real time (or a fixed start) plus an offset that tests can advance."""

from __future__ import annotations

import threading
import time


class Clock:
    """Seconds since the epoch, as a float.

    With ``start=None`` the clock follows the system time; with a number it stands still at
    that instant. Either way ``advance()`` moves it forward, which is how expiry is tested
    without waiting, and ``reset()`` takes the advance back.
    """

    def __init__(self, start: float | None = None) -> None:
        self._start = start
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        base = time.time() if self._start is None else self._start
        return base + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    @property
    def offset(self) -> float:
        return self._offset

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
