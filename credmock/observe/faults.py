"""Faults and latency on demand: answers the application under test must survive.

A :class:`Fault` names a contract operation (or ``*``), optionally a tenant, and what happens
to a matching request: a delay, an answer of the fault's own (status, body, headers), or a reset
connection. :class:`FaultMiddleware` sits after routing and before security, so a faulted
request never reaches a rule: no token is spent, no email is sent. Only the contract's
operations are faulted or delayed, never ``/_mock``, so a test can always remove its faults.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from credmock.core import exceptions as errors
from credmock.http import connexion_compat
from credmock.http.compiled import request_tenant
from credmock.observe.exchanges import is_contract_operation, note_route

ANY_OPERATION = "*"
CONNECTION_RESET = "connection-reset"
FAULT_KINDS = (CONNECTION_RESET,)
MAX_FAULTS = 1000
# A fault answers with a final status: a 1xx is an interim answer, after which the client waits
# for the real one (or the server drops the connection).
FINAL_STATUSES = range(200, 600)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # applied with fullmatch
# Headers the fault's body decides; a fault may not set them.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})

Delay = tuple[float, float]  # milliseconds, min and max


@dataclass
class Fault:
    id: str
    operation: str
    tenant: str | None = None
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_ms: Delay | None = None
    times: int | None = None  # None: for every matching request
    probability: float = 1.0
    kind: str | None = None  # CONNECTION_RESET
    fired: int = 0

    @property
    def answers(self) -> bool:
        """Whether the fault replaces the answer (a delay alone only postpones the real one)."""
        return self.status is not None or self.kind is not None

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else max(0, self.times - self.fired)

    def matches(self, operation_id: str, tenant: str | None) -> bool:
        return (
            (self.operation == ANY_OPERATION or self.operation == operation_id)
            and (self.tenant is None or self.tenant == tenant)
            and self.remaining != 0
        )

    def response(self) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Status, headers and body of the fault's answer. Without a body, an error status gets
        the contract's shape: Apigee's fault for 401, ``ErrorMessage`` otherwise."""
        assert self.status is not None
        body = self.body
        if body is None and self.status >= 400:
            if self.status == 401:
                body = errors.InvalidAccessToken().body()
            else:
                body = {
                    "status": self.status,
                    "type": "injected_fault",
                    "message": f"Answer injected by credmock's fault {self.id}.",
                }
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in self.headers.items()
        ]
        content = b""
        if body is not None and self.status not in (204, 304):
            content = json.dumps(body).encode("utf-8")
            if not any(name == b"content-type" for name, _ in headers):
                headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(content)).encode("ascii")))
        return self.status, headers, content


def _invalid(field_name: str, message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed.for_field(field_name, "invalid_value", message)


def parse_delay(value: Any, field_name: str = "delayMs") -> Delay | None:
    """``delayMs``: a number of milliseconds, or ``[min, max]`` to draw from."""
    if value is None:
        return None
    bounds = value if isinstance(value, list) else [value, value]
    if (
        len(bounds) != 2
        or not all(isinstance(bound, int | float) and not isinstance(bound, bool) for bound in bounds)
        or not 0 <= bounds[0] <= bounds[1] <= 600_000
    ):
        raise _invalid(
            field_name,
            f"'{field_name}' must be milliseconds up to 600000, or [min, max] with min <= max.",
        )
    return float(bounds[0]), float(bounds[1])


def parse_headers(value: Any) -> dict[str, str]:
    headers = value or {}
    for name, header_value in headers.items():
        if not _HEADER_NAME.fullmatch(name) or name.lower() in _FRAMING_HEADERS:
            raise _invalid("headers", f"'headers' may not set {name!r}: not a header name the fault may set.")
        if not isinstance(header_value, str) or not header_value.isprintable() or not header_value.isascii():
            raise _invalid("headers", f"'headers.{name}' must be printable ASCII text.")
    return dict(headers)


class FaultRegistry:
    """The faults in force, in the order added; the first that matches a request fires."""

    def __init__(self, operations: Collection[str], rng: random.Random | None = None) -> None:
        self.operations = frozenset(operations)
        self.rng = rng or random.Random()
        self._faults: dict[str, Fault] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, request: dict[str, Any]) -> Fault:
        """A fault from its JSON description (``POST /_mock/faults``), checked."""
        operation = request.get("operation")
        if operation != ANY_OPERATION and operation not in self.operations:
            known = ", ".join(sorted(self.operations))
            raise _invalid("operation", f"'operation' must be '*' or a contract operationId: {known}.")
        status, kind = request.get("status"), request.get("fault")
        delay = parse_delay(request.get("delayMs"))
        if status is not None and kind is not None:
            raise _invalid(
                "fault", "Give either 'status' or 'fault', not both: a reset connection has no status."
            )
        if status is not None and (
            not isinstance(status, int) or isinstance(status, bool) or status not in FINAL_STATUSES
        ):
            raise _invalid(
                "status",
                f"'status' must be a final status, {FINAL_STATUSES.start} to {FINAL_STATUSES.stop - 1}: "
                "a 1xx is an interim answer.",
            )
        if status is None and kind is None and delay is None:
            raise _invalid("status", "A fault needs a 'status', a 'fault' or a 'delayMs'.")
        if status is None and ("body" in request or "headers" in request):
            raise _invalid("status", "'body' and 'headers' need the 'status' they are answered with.")
        probability = request.get("probability", 1.0)
        with self._lock:
            if len(self._faults) >= MAX_FAULTS:
                raise errors.BadRequest(f"At most {MAX_FAULTS} faults: delete some first.")
            fault = Fault(
                id=f"fault-{next(self._ids)}",
                operation=operation,
                tenant=request.get("tenant"),
                status=status,
                body=request.get("body"),
                headers=parse_headers(request.get("headers")),
                delay_ms=delay,
                times=request.get("times"),
                probability=float(probability),
                kind=kind,
            )
            self._faults[fault.id] = fault
        return fault

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults.values())

    def remove(self, fault_id: str) -> None:
        with self._lock:
            if self._faults.pop(fault_id, None) is None:
                raise errors.NotFound(f"No fault {fault_id!r}.")

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, operation_id: str, tenant: str | None) -> Fault | None:
        """The fault that fires on this request, counted as fired; None when none does."""
        with self._lock:
            for fault in self._faults.values():
                if fault.matches(operation_id, tenant) and (
                    fault.probability >= 1 or self.rng.random() < fault.probability
                ):
                    fault.fired += 1
                    return fault
        return None

    def draw_seconds(self, delay: Delay) -> float:
        low, high = delay
        with self._lock:
            return (low if low == high else self.rng.uniform(low, high)) / 1000

    def __len__(self) -> int:
        return len(self._faults)


ROUTING_CONTEXT = "connexion_routing"


class FaultMiddleware:
    """After routing: notes the request's operation and tenant for the log and journal, then
    delays it (``--latency``, a fault's ``delayMs``) and answers a fault instead of the rules."""

    def __init__(self, app: ASGIApp, *, faults: FaultRegistry, latency_ms: Delay | None) -> None:
        self.app = app
        self.faults = faults
        self.latency_ms = latency_ms

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        routing = scope.get("extensions", {}).get(ROUTING_CONTEXT, {})
        operation_id, api_base_path = routing.get("operation_id"), routing.get("api_base_path", "")
        exchange = note_route(scope, operation_id, api_base_path)
        if (self.latency_ms or self.faults) and is_contract_operation(operation_id, api_base_path):
            if self.latency_ms:
                await asyncio.sleep(self.faults.draw_seconds(self.latency_ms))
            tenant = exchange.tenant if exchange else request_tenant(scope) or None
            fault = self.faults.take(operation_id, tenant) if self.faults else None
            if fault is not None:
                if exchange:
                    exchange.fault = fault.id
                    exchange.injected = fault.answers
                if fault.delay_ms:
                    delay = self.faults.draw_seconds(fault.delay_ms)
                    if exchange:  # an error the real answer then gives says why instead
                        exchange.reason = f"delayed {delay * 1000:.0f} ms by fault {fault.id}"
                    await asyncio.sleep(delay)
                if fault.kind == CONNECTION_RESET:
                    if exchange:
                        exchange.reason = f"connection reset by fault {fault.id}"
                    await reset_connection(scope)
                    return
                if fault.status is not None:
                    if exchange:
                        exchange.reason = f"answered by fault {fault.id}"
                    status, headers, content = fault.response()
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    await send({"type": "http.response.body", "body": content})
                    return
        await self.app(scope, receive, send)


async def reset_connection(scope: Scope) -> None:
    """Reset the client's connection (TCP RST). Served in-process (a test client), there is no
    connection: the client gets no answer at all (Starlette's test client raises)."""
    if connexion_compat.reset_connection(scope):
        await asyncio.sleep(0)  # the server sees the connection lost, and sends nothing more
        await asyncio.sleep(0)
