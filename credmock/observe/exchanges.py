"""What the mock saw of each request and what it answered, for the request log and the journal.

:class:`ObserveMiddleware` wraps the whole app (both engines: Connexion's middleware stack is
ASGI in front of Flask as well). It times the request, reads the status from the response, and
keeps the first bytes of the body for the journal. The rest of an :class:`Exchange` is filled in
where it is known: the route (operationId, tenant) after routing (:func:`note_route`), the
reason of an error by the one error mapping (:func:`note_reason`), an injected fault by the
fault middleware. Nothing here reads or buffers more than the journal keeps.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credmock.core import exceptions as errors
from credmock.http.compiled import header, request_tenant
from credmock.http.request_drain import expects_continue
from credmock.http.request_notes import NOTES_KEY

SCOPE_KEY = NOTES_KEY  # the pipeline notes a request's reason in its exchange (note_reason)
MOCK_API_PREFIX = "/_mock"
# Bytes of each request body kept for the journal; longer bodies are shown as their size.
JOURNAL_BODY_LIMIT = 4096
# Bytes of an error's answer kept, for its error type (API coverage): the contract's errors are short.
ERROR_ANSWER_LIMIT = 2048
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(slots=True)
class Exchange:
    """One request and its answer."""

    method: str
    path: str
    time: float  # wall clock, seconds since the epoch
    started: float  # time.perf_counter() when it arrived
    id: int = 0  # given by the journal
    status: int | None = None  # None: no answer (the connection was reset)
    reason: str | None = None
    operation_id: str | None = None
    tenant: str | None = None
    contract: bool = False  # an operation of the contract (not /_mock, not the docs)
    fault: str | None = None  # id of the injected fault that answered or delayed it
    injected: bool = False  # the fault answered (a status or a reset), not the rules
    duration: float = 0.0  # seconds
    body: bytes = b""  # the first JOURNAL_BODY_LIMIT bytes
    body_size: int = 0
    answer: bytes = b""  # the first ERROR_ANSWER_LIMIT bytes of the answer, when an error (400 or more)
    content_type: str | None = None  # of the body, to read it as the handlers do

    @property
    def worth_recording(self) -> bool:
        """Everything but the successful reads of the mock's own pages and API (the inbox page
        polls the outbox; the docs UI loads its assets): those would drown the requests of the
        application under test."""
        return self.contract or self.method not in _READ_METHODS or self.status is None or self.status >= 400


def exchange_of(scope: Scope) -> Exchange | None:
    return scope.get(SCOPE_KEY)


def is_contract_operation(operation_id: str | None, api_base_path: str) -> bool:
    """Whether a routed request is one of the contract's operations (not of the mock's API)."""
    return operation_id is not None and api_base_path != MOCK_API_PREFIX


def note_route(scope: Scope, operation_id: str | None, api_base_path: str) -> Exchange | None:
    """Record the operation and tenant of a routed request; returns its exchange."""
    exchange = scope.get(SCOPE_KEY)
    if exchange is not None:
        exchange.operation_id = operation_id
        exchange.contract = is_contract_operation(operation_id, api_base_path)
        exchange.tenant = request_tenant(scope) or None
    return exchange


Recorder = Callable[[Exchange], None]


def _content_length(scope: Scope) -> int | None:
    value = header(scope, b"content-length")
    return int(value) if value is not None and value.isdigit() else None


async def _recording(receive: Receive, exchange: Exchange, content_length: int | None) -> Receive:
    """A ``receive`` that keeps the body's first bytes in ``exchange``. A body the journal keeps
    whole is read here, before the app, and replayed: the journal shows it even when the app
    answers without reading it (a 401, a fault). A longer one is noted as the app reads it, and
    so is one the client sends only after ``100 Continue``: reading it first would ask for it."""
    if content_length is not None and content_length <= JOURNAL_BODY_LIMIT:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: the app gets to see it
                pending = [message]
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                exchange.body = b"".join(chunks)
                exchange.body_size = len(exchange.body)
                pending = [{"type": "http.request", "body": exchange.body, "more_body": False}]
                break

        async def replaying_receive() -> Message:
            return pending.pop() if pending else await receive()

        return replaying_receive

    async def recording_receive() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            exchange.body_size += len(chunk)
            room = JOURNAL_BODY_LIMIT - len(exchange.body)
            if room > 0 and chunk:
                exchange.body += chunk[:room]
        return message

    return recording_receive


class ObserveMiddleware:
    """Builds an :class:`Exchange` for every HTTP request and hands it to each recorder (the
    journal, the request log, the API coverage) once the answer is sent."""

    def __init__(self, app: ASGIApp, *, recorders: tuple[Recorder, ...], keep_body: bool) -> None:
        self.app = app
        self.recorders = recorders
        self.keep_body = keep_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.recorders:
            await self.app(scope, receive, send)
            return
        exchange = Exchange(scope["method"], scope["path"], time.time(), time.perf_counter())
        scope[SCOPE_KEY] = exchange  # the server's scope of this one request

        recorded = False

        def record() -> None:
            nonlocal recorded
            recorded = True
            exchange.duration = time.perf_counter() - exchange.started
            if exchange.worth_recording:
                for recorder in self.recorders:
                    recorder(exchange)

        async def observing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
            elif message["type"] == "http.response.body":
                if exchange.status is not None and exchange.status >= 400:
                    room = ERROR_ANSWER_LIMIT - len(exchange.answer)
                    if room > 0:
                        exchange.answer += message.get("body", b"")[:room]
                if not message.get("more_body") and not recorded:
                    record()  # before the client can see the answer: its next look at the journal has it
            await send(message)

        if self.keep_body and scope["method"] in _BODY_METHODS:
            exchange.content_type = header(scope, b"content-type")
            length = None if expects_continue(scope) else _content_length(scope)
            receive = await _recording(receive, exchange, length)
        try:
            await self.app(scope, receive, observing_send)
        except asyncio.CancelledError:  # the server is stopping: it answers 503 if it still can
            if exchange.status is None:
                stopping = errors.ServerStopping(reason="cancelled: the server is stopping")
                exchange.status, exchange.reason = stopping.status, stopping.reason
            raise
        finally:
            if not recorded:  # no complete answer: a reset connection, a crash, a stop
                record()
