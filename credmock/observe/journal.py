"""The request journal: the newest requests the mock answered, bounded, searchable, with every
password and token in their bodies masked when read."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from typing import Any

from credmock.observe.exchanges import JOURNAL_BODY_LIMIT, Exchange

MASK = "***"
# A body field whose name holds one of these is shown as MASK.
SECRET_FIELD_WORDS = ("password", "token", "secret")


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_FIELD_WORDS)


def mask_secrets(value: Any) -> Any:
    """``value`` with the value of every secret field (at any depth) replaced by MASK."""
    if isinstance(value, dict):
        return {key: MASK if is_secret_field(str(key)) else mask_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def masked_body(exchange: Exchange) -> Any:
    """The request body as the journal shows it: JSON with its secrets masked; text that names
    no secret as it came; anything else as a note of its size. None when there was no body."""
    if not exchange.body_size:
        return None
    if exchange.body_size > len(exchange.body):
        return f"({exchange.body_size} bytes, beyond the journal's {JOURNAL_BODY_LIMIT}-byte limit)"
    text = exchange.body.decode("utf-8", errors="replace")
    try:
        return mask_secrets(json.loads(text))
    except ValueError:
        pass
    if any(word in text.lower() for word in SECRET_FIELD_WORDS):
        return f"({exchange.body_size} bytes, not JSON, hidden: they may hold a secret)"
    return text


class Journal:
    """The newest ``size`` exchanges; older ones fall off so memory stays bounded."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"the journal size must be 0 or more, not {size}")
        self.size = size
        self._exchanges: deque[Exchange] = deque(maxlen=size)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._cleared_at = 0.0  # time.perf_counter() of the last clear

    def record(self, exchange: Exchange) -> None:
        """Keep ``exchange``, unless it began before the journal was last cleared (the request that
        cleared it, above all: an emptied journal starts empty)."""
        with self._lock:
            if exchange.started < self._cleared_at:
                return
            exchange.id = next(self._ids)
            self._exchanges.append(exchange)

    def find(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        tenant: str | None = None,
        operation: str | None = None,
        limit: int | None = None,
    ) -> list[Exchange]:
        """Matching exchanges, newest first. ``path`` matches any part of the path; ``method``
        matches case-insensitively."""
        wanted_method = method.upper() if method else None
        with self._lock:
            snapshot = list(self._exchanges)
        found: list[Exchange] = []
        for exchange in reversed(snapshot):
            if wanted_method and exchange.method != wanted_method:
                continue
            if path and path not in exchange.path:
                continue
            if status is not None and exchange.status != status:
                continue
            if tenant and exchange.tenant != tenant:
                continue
            if operation and exchange.operation_id != operation:
                continue
            found.append(exchange)
            if limit is not None and len(found) >= limit:
                break
        return found

    def clear(self) -> None:
        with self._lock:
            self._exchanges.clear()
            self._cleared_at = time.perf_counter()

    def __len__(self) -> int:
        return len(self._exchanges)
