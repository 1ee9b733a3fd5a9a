"""A server that honours the credentials contract in the simplest way, except where a test tells
it to break it: what `credmock verify` and `credmock proxy` must catch.

By default it answers like the real service would: 401 with Apigee's fault body without a known
token, 403 for an anonymous token where a customer token is needed, 400 ErrorMessage for a body
that is not JSON, 204 for a reset request, 400 ErrorMessage for anything else (bogus tokens,
wrong passwords). ``server.answers[path] = Answer(...)`` replaces the answer for one path.
It also hands out tokens as the storefront endpoints do (anonymous login, customer login).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TENANT = "demo"
CLIENT_ID = "broken-client-id"
ANONYMOUS_TOKEN = "broken-anonymous-token"
CUSTOMER_TOKEN = "broken-customer-token"
EMAIL, PASSWORD = "tester@example.com", "tester-pass-1"
CUSTOMER_PATHS = {"/password/change", "/me/accounts/internal/email/change"}
FAULT = {
    "fault": {"faultstring": "Invalid access token", "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}
}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] | str | None = None
    content_type: str = "application/json"
    # Which requests get it: those with a valid token, those without, or all.
    when: Literal["authorized", "unauthorized", "always"] = "authorized"

    def response(self) -> Response:
        content = json.dumps(self.body) if isinstance(self.body, dict) else self.body
        return Response(content, status_code=self.status, media_type=self.content_type if content else None)


def error_message(status: int, message: str) -> JSONResponse:
    return JSONResponse({"status": status, "type": "bad_request", "message": message}, status_code=status)


class ThreadedServer:
    """An ASGI app served by uvicorn in a daemon thread, on a free loopback port."""

    def __init__(self, config_factory: Any) -> None:
        """``config_factory(host, port) -> uvicorn.Config``."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(config_factory("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


class BrokenServer(ThreadedServer):
    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}  # path (without /customer/{tenant}) -> answer
        app = Starlette(
            routes=[
                Route("/customerlogin/auth/anonymous/login", self.anonymous_login, methods=["GET"]),
                Route("/customer/{tenant}/login", self.customer_login, methods=["POST"]),
                Route("/customer/{tenant}/{path:path}", self.operation, methods=["POST"]),
            ]
        )
        super().__init__(lambda host, port: uvicorn.Config(app, host=host, port=port, log_level="warning"))

    async def anonymous_login(self, request: Request) -> Response:
        if request.query_params.get("client_id") != CLIENT_ID:
            return error_message(400, "Unknown client_id.")
        return JSONResponse({"access_token": ANONYMOUS_TOKEN, "token_type": "Bearer", "expires_in": 3599})

    async def customer_login(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {ANONYMOUS_TOKEN}":
            return JSONResponse(FAULT, status_code=401)
        if await request.json() != {"email": EMAIL, "password": PASSWORD}:
            return error_message(400, "The email or password is not correct.")
        return JSONResponse({"access_token": CUSTOMER_TOKEN, "token_type": "Bearer", "expires_in": 2591999})

    async def operation(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        authorized = token in {ANONYMOUS_TOKEN, CUSTOMER_TOKEN}
        answer = self.answers.get(path)
        if answer and answer.when in {"always", "authorized" if authorized else "unauthorized"}:
            return answer.response()
        if not authorized:
            return JSONResponse(FAULT, status_code=401)
        if path in CUSTOMER_PATHS and token != CUSTOMER_TOKEN:
            return JSONResponse(
                {"status": 403, "type": "forbidden", "message": "Customer token needed."}, status_code=403
            )
        try:
            json.loads(await request.body())
        except ValueError:
            return error_message(400, "The body is not JSON.")
        if path == "/password/reset":
            return Response(status_code=204)
        return error_message(400, "Invalid token or password.")


# A credmock with planted answers ---------------------------------------------------------------

Transform = Callable[[int, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


@dataclass(frozen=True)
class Plant:
    """What replaces (``answer``) or changes (``transform``) credmock's answer on one path, for
    requests with a bearer token, without one, or always."""

    method: str
    answer: Answer | None = None
    transform: Transform | None = None
    when: Literal["with token", "without token", "always"] = "always"


class PlantedServer(ThreadedServer):
    """credmock itself (seed 7, the fixtures' accounts) served in a thread, except where a test
    plants another answer: ``server.plants[path] = Plant(...)``, the path without
    ``/customer/{tenant}`` for the tenant's paths. Honest everywhere else, so every difference a
    check reports is one the test planted."""

    def __init__(self, **settings: Any) -> None:
        from credmock.app import create_app
        from credmock.settings import Settings

        self.plants: dict[str, Plant] = {}
        self.credmock = create_app(Settings(seed=7, quiet=True, **settings))
        super().__init__(
            lambda host, port: uvicorn.Config(
                self.asgi, host=host, port=port, log_level="warning", interface="asgi3"
            )
        )

    def _plant_for(self, scope: dict[str, Any]) -> Plant | None:
        path = scope["path"]
        if path.startswith("/customer/") and path.count("/") >= 3:
            path = "/" + path.split("/", 3)[3]
        plant = self.plants.get(path)
        if plant is None or plant.method != scope["method"]:
            return None
        has_token = any(name == b"authorization" for name, _ in scope.get("headers", []))
        if (plant.when == "with token" and not has_token) or (plant.when == "without token" and has_token):
            return None
        return plant

    async def asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        plant = self._plant_for(scope) if scope["type"] == "http" else None
        if plant is None:
            await self.credmock(scope, receive, send)
            return
        if plant.answer is not None:
            await plant.answer.response()(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def keep(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.credmock(scope, receive, keep)
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in start["headers"]}
        assert plant.transform is not None
        status, headers, body = plant.transform(start["status"], headers, b"".join(chunks))
        headers["content-length"] = str(len(body))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": body})
