"""Serving an ASGI app from the command line like a Unix tool: bind first (a taken port is one
line and exit status 2, before any banner), learn the real port (``--port 0``), and end with
exit status 0 after a graceful SIGTERM or Ctrl-C, without a traceback.

- A stop waits for the requests in progress at most a grace period (``--shutdown-grace``); then
  they are cancelled (a delayed one answers 503, see :mod:`credmock.http.request_drain`). A
  second SIGTERM or Ctrl-C stops at once.
- The request head (request line and headers) is bounded: past :data:`HEAD_LIMIT_BYTES` the
  client gets 431 and the connection closes, before the server holds more of it in memory.
"""

from __future__ import annotations

import gc
import json
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from credmock.core import exceptions as errors
from credmock.settings import DEFAULT_SHUTDOWN_GRACE_SECONDS

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
LISTEN_BACKLOG = 2048  # uvicorn's default
# The request line and headers together, as nginx's large_client_header_buffers (4 x 8k) and
# Node's --max-http-header-size (16k) are of this order; a credentials request needs a few hundred.
HEAD_LIMIT_BYTES = 64 * 1024


class _HeadTooLarge(Exception):
    """Raised in a parser callback: httptools then stops parsing the request."""


def head_too_large_answer() -> bytes:
    """The whole 431 answer, in the mock's error shape, closing the connection."""
    body = json.dumps(errors.HeadersTooLarge().body()).encode()
    status = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
    return (
        f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


class BoundedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the request head bounded to :data:`HEAD_LIMIT_BYTES`.

    httptools gathers a header in memory until it ends, so the bytes received while a head is
    incomplete are counted as they arrive (the memory held stays under the bound plus one read);
    a head that completes within one read is measured exactly in the parser's callbacks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading_head = True
        self._head_bytes_received = 0
        self._head_size = 0
        self._head_refused = False

    def data_received(self, data: bytes) -> None:
        if self._head_refused:
            return
        if self._reading_head:
            self._head_bytes_received += len(data)
        super().data_received(data)
        if self._reading_head and self._head_bytes_received > HEAD_LIMIT_BYTES and not self._head_refused:
            self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = 0

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._head_bytes_received = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_head = True

    def _count_head(self, size: int) -> None:
        self._head_size += size
        if self._head_size > HEAD_LIMIT_BYTES:
            self._head_refused = True
            raise _HeadTooLarge()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error: 431 when it was the head's size."""
        if self._head_refused:
            self._refuse_head()
        else:
            super().send_400_response(msg)

    def _refuse_head(self) -> None:
        self._head_refused = True
        self.transport.write(head_too_large_answer())
        self.transport.close()


def protocol_options(shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE_SECONDS) -> dict[str, Any]:
    """The ``uvicorn.Config`` options every credmock server uses: the bounded head (on h11 too,
    should it be chosen: it answers 400 there) and the stop's grace period."""
    return {
        "http": BoundedHeadProtocol,
        "h11_max_incomplete_event_size": HEAD_LIMIT_BYTES,
        "timeout_graceful_shutdown": shutdown_grace,
    }


class StoppableServer(uvicorn.Server):
    """uvicorn's server, where a second SIGTERM or Ctrl-C ends the grace period at once: the
    requests still in progress are cancelled (each answers 503), then the server stops as after
    the grace period, its app shut down in order (no traceback)."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:
            super().handle_exit(sig, frame)
            return
        for task in self.server_state.tasks:
            task.cancel()


class BindError(Exception):
    """The address could not be listened on; the message is the one line to show."""


def freeze_loaded_objects() -> None:
    """Move what is loaded now (contract, validators, fixtures), which lives as long as the server,
    out of the garbage collector's way: its full collections no longer stall requests (p99 down
    2-4x). Called once the app is built, in the serving process or in each worker."""
    gc.collect()
    gc.freeze()


def url_host(host: str) -> str:
    """``host`` as it is written in a URL (IPv6 addresses in brackets)."""
    host = host.strip("[]")
    return f"[{host}]" if ":" in host else host


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (port 0: a free one); connections queue until served."""
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET  # as uvicorn picks it
    try:
        infos = socket.getaddrinfo(address, port, family, socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise BindError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    _, kind, protocol, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(LISTEN_BACKLOG)
    except OSError as error:
        sock.close()
        raise BindError(f"cannot listen on {url_host(host)}:{port}: {error.strerror or error}") from None
    sock.set_inheritable(True)
    return sock


def bound_port(sock: socket.socket) -> int:
    return sock.getsockname()[1]


@contextmanager
def stop_on_signals(server: uvicorn.Server) -> Iterator[None]:
    """SIGTERM and SIGINT ask ``server`` to shut down gracefully, also before it installs its own
    handlers; when it re-raises the signal after its shutdown, the signal ends nothing more."""

    def stop(_signal: int, _frame: FrameType | None) -> None:
        if server.should_exit:
            server.force_exit = True
        server.should_exit = True

    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def serve_until_stopped(config: uvicorn.Config, sock: socket.socket) -> None:
    """Serve on ``sock`` until SIGTERM or Ctrl-C, then return after a graceful shutdown."""
    server = StoppableServer(config)
    with stop_on_signals(server):
        server.run(sockets=[sock])


def serve_processes(config: uvicorn.Config, sock: socket.socket) -> None:
    """Serve on ``sock`` from ``config.workers`` processes (``config.app`` an import string), as
    ``uvicorn.run(..., workers=N)`` does, until SIGTERM or Ctrl-C ends them all."""
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[sock]).run()
