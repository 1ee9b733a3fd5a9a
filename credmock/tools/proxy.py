"""``credmock proxy``: a validating reverse proxy in front of a deployment, like Prism's proxy mode.

Every request goes to the upstream unchanged (method, path, query, headers but the hop-by-hop
ones, body) and its response comes back unchanged (status, headers, body). On the way, requests
and responses of the operations the contract describes are checked with :class:`ContractChecker`;
each violation is logged on one line and kept (newest first, bounded) at ``GET /_mock/violations``,
served by the proxy itself (``DELETE`` clears). With ``strict``, a violating response is
replaced by a 502 ``ErrorMessage`` naming the violations; violating requests are still forwarded
(how the upstream answers them is what one wants to see).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from credmock.app import CONTRACT_SPEC, load_spec
from credmock.core.clock import iso_time
from credmock.core.visible_text import visible
from credmock.tools.option_checks import add_upstream_timeout, port_number, whole_number

if TYPE_CHECKING:  # openapi-core loads in 0.1 s: imported when proxying, not by every CLI start
    from credmock.tools.contract import ContractChecker

logger = logging.getLogger("credmock.tools.proxy")

VIOLATIONS_PATH = "/_mock/violations"
# RFC 9110 section 7.6.1: these describe one connection, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class Violation:
    id: int
    at: str
    method: str
    path: str
    status: int | None  # the upstream's status; None for a request that got no answer
    part: Literal["request", "response"]
    message: str

    def line(self) -> str:
        answer = f" -> {self.status}" if self.status is not None else ""
        return f"{self.method} {self.path}{answer}: {self.part}: {self.message}"


class ViolationLog:
    """The violations seen, newest first, at most ``capacity`` (older ones are dropped)."""

    def __init__(self, capacity: int = 1000) -> None:
        self._entries: deque[Violation] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(
        self, method: str, path: str, status: int | None, part: Literal["request", "response"], message: str
    ) -> Violation:
        at = iso_time(time.time())
        with self._lock:
            violation = Violation(next(self._ids), at, method, path, status, part, message)
            self._entries.appendleft(violation)
        logger.warning("violation: %s", visible(violation.line()))
        return violation

    def newest_first(self) -> list[Violation]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _forwardable(
    raw_headers: list[tuple[bytes, bytes]], *, drop: frozenset[str]
) -> list[tuple[bytes, bytes]]:
    """The headers minus the hop-by-hop ones, those the Connection header names, and ``drop``."""
    named = {
        token.strip().lower()
        for name, value in raw_headers
        if name.lower() == b"connection"
        for token in value.decode("latin-1").split(",")
    }
    excluded = HOP_BY_HOP | drop | named
    return [(name, value) for name, value in raw_headers if name.decode("latin-1").lower() not in excluded]


def create_proxy_app(
    upstream: str,
    *,
    strict: bool = False,
    capacity: int = 1000,
    timeout: float = 30.0,
    checker: ContractChecker | None = None,
) -> Starlette:
    """The proxy as an ASGI app; ``app.state.violations`` is its :class:`ViolationLog`."""
    upstream_url = httpx.URL(upstream)
    prefix = upstream_url.raw_path.rstrip(b"/")
    if checker is None:
        from credmock.tools.contract import ContractChecker

        checker = ContractChecker(load_spec(CONTRACT_SPEC))
    violations = ViolationLog(capacity)
    client: httpx.AsyncClient | None = None

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        nonlocal client
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            yield

    async def list_violations(request: Request) -> Response:
        if request.method == "DELETE":
            violations.clear()
            return Response(status_code=204)
        return JSONResponse([asdict(violation) for violation in violations.newest_first()])

    async def forward(request: Request) -> Response:
        assert client is not None, "the proxy's lifespan did not run"
        body = await request.body()
        raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
        query: bytes = request.scope.get("query_string", b"")
        target = upstream_url.copy_with(raw_path=prefix + raw_path + (b"?" + query if query else b""))
        method, path = request.method, request.url.path
        # httpx sets Host (the upstream's) and Content-Length (of the same bytes) itself.
        headers = _forwardable(request.headers.raw, drop=frozenset({"host", "content-length"}))
        described = checker.describes(method, path)
        url = path + (f"?{query.decode('latin-1')}" if query else "")
        request_problems = (
            checker.check_request(method=method, url=url, headers=request.headers, body=body)
            if described
            else []
        )
        try:
            upstream_response, raw_body = await _send(
                client, httpx.Request(method, target, headers=headers, content=body)
            )
        except httpx.HTTPError as error:
            for problem in request_problems:
                violations.add(method, path, None, "request", problem)
            message = f"The upstream {upstream} did not answer: {error!r}"
            logger.error("%s %s: %s", visible(method), visible(path), visible(message))
            return JSONResponse({"status": 502, "type": "bad_gateway", "message": message}, status_code=502)
        status = upstream_response.status_code
        for problem in request_problems:
            violations.add(method, path, status, "request", problem)
        found = []
        if described:
            # Checked decoded (gzip and the like), passed on as the upstream sent it.
            decoded = httpx.Response(
                status, headers=upstream_response.headers, stream=httpx.ByteStream(raw_body)
            ).read()
            for message in checker.check_response(
                method=method,
                url=url,
                request_headers=request.headers,
                request_body=body,
                status=status,
                response_headers=upstream_response.headers,
                response_body=decoded,
            ):
                found.append(violations.add(method, path, status, "response", message))
        if strict and found:
            return _strict_error(method, path, status, found)
        response = Response(raw_body, status_code=status)
        response.raw_headers = _forwardable(upstream_response.headers.raw, drop=frozenset())
        return response

    app = Starlette(
        routes=[
            Route(VIOLATIONS_PATH, list_violations, methods=["GET", "DELETE"]),
            Route("/{path:path}", forward, methods=ALL_METHODS),
        ],
        lifespan=lifespan,
    )
    app.state.violations = violations
    return app


async def _send(client: httpx.AsyncClient, request: httpx.Request) -> tuple[httpx.Response, bytes]:
    """The upstream's response and its body as sent (still encoded: gzip stays gzip)."""
    response = await client.send(request, stream=True)
    try:
        return response, b"".join([chunk async for chunk in response.aiter_raw()])
    finally:
        await response.aclose()


def _strict_error(method: str, path: str, status: int, found: list[Violation]) -> JSONResponse:
    messages = [violation.message for violation in found]
    return JSONResponse(
        {
            "status": 502,
            "type": "contract_violation",
            "message": f"The upstream's {status} response to {method} {path} violates the contract: "
            + "; ".join(messages),
            "details": [
                {"field": "response", "type": "contract_violation", "message": message}
                for message in messages
            ],
        },
        status_code=502,
    )


def uvicorn_config(app: Starlette, host: str, port: int, log_level: str = "warning") -> uvicorn.Config:
    """Served without uvicorn's own Server and Date headers: the upstream's pass through unchanged."""
    from credmock.http.serving import protocol_options

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        server_header=False,
        date_header=False,
        **protocol_options(),
    )


def run_proxy_command(arguments: argparse.Namespace) -> int:
    from credmock.http.serving import BindError, bound_port, listen, serve_until_stopped, url_host

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("credmock proxy: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    app = create_proxy_app(
        arguments.upstream,
        strict=arguments.strict,
        capacity=arguments.max_violations,
        timeout=arguments.timeout,
    )
    try:
        sock = listen(arguments.host, arguments.port)
    except BindError as error:
        print(f"credmock proxy: {error}", file=sys.stderr)
        return 2
    url = f"http://{url_host(arguments.host)}:{bound_port(sock)}"
    mode = " (strict: violating responses become 502)" if arguments.strict else ""
    print(f"credmock proxy on {url} -> {arguments.upstream}{mode}", flush=True)
    print(f"  violations: {url}{VIOLATIONS_PATH}", flush=True)
    serve_until_stopped(uvicorn_config(app, arguments.host, arguments.port, arguments.log_level), sock)
    return 0


def add_proxy_command(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "proxy",
        help="forward to a deployment and check every exchange against the contract",
        description="A reverse proxy that checks requests and responses against the contract; "
        f"violations are logged and listed at {VIOLATIONS_PATH}.",
    )
    parser.add_argument("--upstream", required=True, help="e.g. https://api.emporix.io")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    parser.add_argument(
        "-p", "--port", type=port_number, default=8081, help="0 picks a free one (default: 8081)"
    )
    parser.add_argument("--strict", action="store_true", help="answer a violating response with a 502")
    parser.add_argument(
        "--max-violations", type=whole_number(1), default=1000, metavar="N", help="violations kept"
    )
    add_upstream_timeout(parser, default=30.0)
    parser.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )
    parser.set_defaults(run=run_proxy_command)
