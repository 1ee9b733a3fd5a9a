"""Read what is left of a request body before the answer ends, so every client reads its answer.

Many answers need no body: 401 for a bad token, 404, 405, a request refused for its size. They
are ready while the client may still be sending. When the connection then closes (the client
sent ``Connection: close``, or the server ends it after an error), the bytes the server never
read make the kernel reset the connection: the client gets ``Connection reset by peer`` or a
broken pipe, often without the answer. Reading the rest of the body first, within bounds, is
what nginx calls a lingering close; here it happens in the app, the one place that knows
whether the body was read.

A client that sends ``Expect: 100-continue`` has sent no body yet: nothing reads it before the
app asks for it (``receive`` is what makes the server send ``100 Continue``), so an answer that
needs no body (a 401) goes out at once, and the client never sends the body.

The same wrapper answers a request the server cancels while it stops (a delay still running
when the stop's grace period ends) with a 503 in the mock's error shape, instead of uvicorn's
traceback and plain-text 500.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credmock.core import exceptions as errors
from credmock.http.request_notes import note_reason

# A client sending more than this, or for longer, after its answer is ready is left to the reset.
DRAIN_LIMIT_BYTES = 1024 * 1024
DRAIN_TIMEOUT_SECONDS = 5.0


class RequestDrain:
    """One request's ``receive`` and ``send``, watching whether its body was read to the end."""

    __slots__ = ("_receive", "_scope", "_send", "answer_started", "body_complete")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._scope = scope
        self._receive = receive
        self._send = send
        self.body_complete = False
        self.answer_started = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.body_complete = True
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.answer_started = True
        ends_answer = message["type"] == "http.response.body" and not message.get("more_body")
        if ends_answer and not self.body_complete:
            await self.drain()
        await self._send(message)

    async def drain(self) -> None:
        """Read and drop the rest of the body, unless the client waits for ``100 Continue``: it
        has sent nothing, and will send nothing now that the answer is known."""
        if expects_continue(self._scope):
            return
        received = 0
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT_SECONDS):
                while not self.body_complete and received <= DRAIN_LIMIT_BYTES:
                    received += len((await self.receive()).get("body", b""))
        except TimeoutError:
            pass

    async def answer_stopping(self) -> None:
        """503, the connection closing: the server cancelled the request as it stops."""
        if self.answer_started:
            return  # half an answer is sent: the closing connection ends it
        error = errors.ServerStopping(reason="cancelled: the server is stopping")
        note_reason(self._scope, error.reason)
        body = json.dumps(error.body()).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await self._send({"type": "http.response.start", "status": error.status, "headers": headers})
        await self._send({"type": "http.response.body", "body": body})


def expects_continue(scope: Scope) -> bool:
    """Whether the client waits for ``100 Continue`` before it sends the body."""
    return any(name == b"expect" and value.lower() == b"100-continue" for name, value in scope["headers"])


async def serve_draining(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run ``app`` on an HTTP request whose unread body is drained before the answer ends."""
    request = RequestDrain(scope, receive, send)
    try:
        await app(scope, request.receive, request.send)
    except asyncio.CancelledError:  # only the server cancels a request: it is stopping
        await request.answer_stopping()
