"""The request log: one line per request on stdout, as text for a terminal or JSON for a log
collector. A line holds the path, never the query (a control token may travel there) nor a
header or a body, so no token or password is ever printed. Every string a line holds (path,
reason, tenant...) passes :func:`credmock.core.visible_text.visible`, in both formats: a client
cannot end a line, forge one or send a terminal escape sequence through it."""

from __future__ import annotations

import asyncio
import functools
import json
import math
import sys
from datetime import datetime
from typing import Any, TextIO

from credmock.core.clock import iso_time
from credmock.core.visible_text import visible
from credmock.observe.exchanges import Exchange

LOG_FORMATS = ("text", "json")


_MILLISECONDS = tuple(f".{millisecond:03d}" for millisecond in range(1000))


@functools.lru_cache(maxsize=4)
def _local_second(second: int) -> str:
    return datetime.fromtimestamp(second).strftime("%H:%M:%S")


def clock_text(timestamp: float) -> str:
    """``HH:MM:SS.mmm`` of ``timestamp`` in local time, as ``datetime.fromtimestamp(timestamp)
    .strftime("%H:%M:%S.%f")[:-3]`` reads it; the time of day is formatted once a second
    (formatting it for every request took a twentieth of the server's time)."""
    second = math.floor(timestamp)
    micro = round((timestamp - second) * 1_000_000)
    if micro >= 1_000_000:
        second, micro = second + 1, micro - 1_000_000
    return _local_second(second) + _MILLISECONDS[micro // 1000]


def text_line(exchange: Exchange) -> str:
    """``12:03:04.567 POST /customer/demo/password/change 401 1.2 ms  token unknown: ...``"""
    clock = clock_text(exchange.time)
    status = "---" if exchange.status is None else str(exchange.status)
    method, path = visible(exchange.method), visible(exchange.path)
    line = f"{clock} {method} {path} {status} {exchange.duration * 1000:.1f} ms"
    if exchange.reason and (exchange.status is None or exchange.status >= 400 or exchange.fault):
        line += f"  {visible(exchange.reason)}"
    return line


def json_fields(exchange: Exchange) -> dict[str, Any]:
    """The fields of a JSON line; each string as :func:`visible` writes it, as on a text line (JSON
    would carry C1 controls and U+2028 raw, and a collector may split lines on them)."""
    fields: dict[str, Any] = {
        "time": iso_time(exchange.time),
        "method": visible(exchange.method),
        "path": visible(exchange.path),
        "status": exchange.status,
        "durationMs": round(exchange.duration * 1000, 3),
    }
    for name, value in (
        ("reason", exchange.reason),
        ("operationId", exchange.operation_id),
        ("tenant", exchange.tenant),
        ("fault", exchange.fault),
    ):
        if value is not None:
            fields[name] = visible(value)
    return fields


def json_line(exchange: Exchange) -> str:
    return json.dumps(json_fields(exchange), ensure_ascii=False)


class RequestLog:
    """Writes one line per exchange to ``stream`` (stdout, looked up at each write so a test's
    capture sees it). Inside an event loop the lines wait until the loop has run what was
    ready, then the lines of the requests answered in that turn go out in one write and one
    flush (a write per request cost a system call each when stdout is unbuffered, as with
    ``PYTHONUNBUFFERED`` in containers, and held every other request up); outside an event loop
    each line is written and flushed at once."""

    def __init__(self, log_format: str = "text", stream: TextIO | None = None) -> None:
        if log_format not in LOG_FORMATS:
            raise ValueError(f"unknown log format {log_format!r}: choose one of {', '.join(LOG_FORMATS)}")
        self.format_line = text_line if log_format == "text" else json_line
        self.stream = stream
        self._pending: list[str] = []  # lines not yet written, their write scheduled on _flush_loop
        self._flush_loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, exchange: Exchange) -> None:
        line = self.format_line(exchange)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if self._pending and loop is not None and loop is self._flush_loop:
            self._pending.append(line)  # its write is already scheduled on this loop
            return
        self.flush()  # what an earlier loop (perhaps gone) was to write
        self._pending.append(line)
        if loop is None:
            self.flush()
            return
        self._flush_loop = loop
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write and flush the lines not yet written."""
        if not self._pending:
            return
        lines, self._pending = self._pending, []
        stream = self.stream or sys.stdout
        lines.append("")
        stream.write("\n".join(lines))
        stream.flush()
