"""Every use of a web library's private members, in one place; tests/test_connexion_compat.py
fails by name when an upgrade removes one.

- The server's own ``send`` of a request is kept in the scope (:func:`keep_server_send`): ASGI
  has no way to reset a connection, and only uvicorn's request cycle, the object that ``send`` is
  bound to, holds the connection's transport (its ``transport`` attribute, not part of ASGI).
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from starlette.types import Scope, Send

SERVER_SEND_KEY = "credmock.server_send"


def keep_server_send(scope: Scope, send: Send) -> None:
    """Remember the server's ``send`` of this request, before any middleware wraps it."""
    scope[SERVER_SEND_KEY] = send


def server_transport(send: Send) -> Any:
    """The asyncio transport of uvicorn's request cycle ``send`` is bound to, or None."""
    return getattr(getattr(send, "__self__", None), "transport", None)


def reset_connection(scope: Scope) -> bool:
    """Close the request's connection with a TCP reset (SO_LINGER 0, then abort), as a crashed
    upstream or a dropped load balancer does. False when no server connection is at hand (an
    in-process test client)."""
    send = scope.get(SERVER_SEND_KEY)
    transport = server_transport(send) if send is not None else None
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True
