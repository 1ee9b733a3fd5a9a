"""CORS for every path, so a storefront on another origin can call the mock from a browser.

The mock API under ``/_mock`` reads the outbox and mints tokens, so it is stricter: unless a
control token guards it or origins are given, only pages on loopback origins (a storefront in
development, the browser test) may call it; a public web page open in the same browser may not.

Starlette's CORSMiddleware does the work. It is placed before Connexion's exception middleware,
so preflights are answered before routing and security (no token needed, any path), and the
error responses of ``http_errors`` (a 401 above all) carry the headers too: without them a
browser hides the error body from the page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from connexion.middleware import MiddlewarePosition
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credmock.http.compiled import header

ANY_ORIGIN = "*"
# Response headers a page may read beyond the CORS-safelisted ones.
EXPOSED_HEADERS = ("Location", "Retry-After", "WWW-Authenticate")
PREFLIGHT_MAX_AGE_SECONDS = 600
_ORIGIN = re.compile(r"https?://[^/?#\s]+")  # applied with fullmatch
LOOPBACK_ORIGIN = r"^https?://(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d{1,5})?$"
MOCK_API_PREFIX = "/_mock"


def validate_origins(origins: Sequence[str]) -> tuple[str, ...]:
    """The origins as given, or ValueError for one a browser would never send (a path, no scheme)."""
    for origin in origins:
        if origin != ANY_ORIGIN and not _ORIGIN.fullmatch(origin):
            raise ValueError(
                f"CORS origin {origin!r} is not an origin: give scheme://host[:port] "
                "(e.g. http://localhost:3000, no path, no trailing slash) or *"
            )
    return tuple(origins)


def middleware_options(origins: Sequence[str]) -> dict[str, Any]:
    """CORSMiddleware's options: the request's Origin is echoed (never ``*``) with credentials
    allowed, when it is one of ``origins`` or ``origins`` holds ``*``; any method and any
    requested header (Authorization, Content-Type, Emporix-Tenant, ...) are allowed."""
    return {
        "allow_origins": validate_origins(origins),
        "allow_credentials": True,  # with "*" origins, Starlette then echoes the request's Origin
        "allow_methods": ["*"],
        "allow_headers": ["*"],  # echoes Access-Control-Request-Headers
        "expose_headers": EXPOSED_HEADERS,
        # A page on a public origin (a deployed storefront preview) may call a mock on loopback.
        "allow_private_network": True,
        "max_age": PREFLIGHT_MAX_AGE_SECONDS,
    }


def mock_api_options(origins: Sequence[str], control_token: str | None) -> dict[str, Any]:
    """CORSMiddleware's options for ``/_mock``: as for the contract when a control token guards it
    or origins were named; otherwise loopback origins only, and no private-network access."""
    options = middleware_options(origins)
    if control_token is None and ANY_ORIGIN in origins:
        options.update(allow_origins=(), allow_origin_regex=LOOPBACK_ORIGIN, allow_private_network=False)
    return options


class PathCORSMiddleware:
    """Two CORS policies: one for ``/_mock``, one for every other path. A request without an
    ``Origin`` (not a page's) skips both: its answer gets ``Vary: Origin``, all that Starlette's
    middleware would add, without building its views of the request's headers."""

    def __init__(self, app: ASGIApp, *, origins: Sequence[str], control_token: str | None) -> None:
        self.app = app
        self.contract = CORSMiddleware(app, **middleware_options(origins))
        self.mock_api = CORSMiddleware(app, **mock_api_options(origins, control_token))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and header(scope, b"origin") is None:
            await self.app(scope, receive, varying_on_origin(send))
            return
        is_mock_api = scope["type"] == "http" and scope["path"].startswith(MOCK_API_PREFIX)
        await (self.mock_api if is_mock_api else self.contract)(scope, receive, send)


def varying_on_origin(send: Send) -> Send:
    """``send``, adding ``Origin`` to the answer's ``Vary`` as CORSMiddleware does for a request
    without an ``Origin``."""

    async def send_varying(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers", [])
            if any(name == b"vary" for name, _ in headers):
                vary = MutableHeaders(scope=message)
                vary["Vary"] = ", ".join([*vary.getlist("Vary"), "Origin"])
            else:  # what the lines above give then, in a new list too
                message["headers"] = [*headers, (b"vary", b"Origin")]
        await send(message)

    return send_varying


def install(app: Any, origins: Sequence[str], control_token: str | None = None) -> None:
    """``app``: a connexion FlaskApp or AsyncApp. Bad origins raise ValueError here, at start-up:
    Connexion builds the middleware itself only on the first request."""
    validate_origins(origins)
    app.add_middleware(
        PathCORSMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        origins=origins,
        control_token=control_token,
    )
