"""CORS for every path, so a storefront on another origin can call the mock from a browser.

The mock API under ``/_mock`` reads the outbox and mints tokens, so it is stricter: unless a
control token guards it or origins are given, only pages on loopback origins (a storefront in
development, the browser test) may call it; a public web page open in the same browser may not.

Starlette's CORSMiddleware does the work. It is placed before Connexion's exception middleware,
so preflights are answered before routing and security (no token needed, any path), and the
error responses of ``http_errors`` (a 401 above all) carry the headers too: without them a
browser hides the error body from the page.

CORS only hides answers from pages; a "simple" request (a form's POST, ``fetch`` without a
custom header) is still carried out. So two refusals come first, both 403 in the mock API's
error shape:

- a ``/_mock`` write (any method but GET, HEAD, OPTIONS) a browser sends from another site: an
  ``Origin`` that is neither the mock's own nor one the ``/_mock`` policy above allows, or, with
  no ``Origin``, a ``Sec-Fetch-Site`` of ``cross-site`` or ``same-site``;
- any request that reached the mock on a loopback address naming in its ``Host`` a name that
  is not a loopback one (DNS rebinding), unless the user added it (``--allowed-host``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from connexion.middleware import MiddlewarePosition
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credmock.core import exceptions as errors
from credmock.http.compiled import header
from credmock.http.host_guard import host_allowed, is_loopback
from credmock.http.request_notes import note_reason

ANY_ORIGIN = "*"
# Response headers a page may read beyond the CORS-safelisted ones.
EXPOSED_HEADERS = ("Location", "Retry-After", "WWW-Authenticate")
PREFLIGHT_MAX_AGE_SECONDS = 600
_ORIGIN = re.compile(r"https?://[^/?#\s]+")  # applied with fullmatch
LOOPBACK_ORIGIN = r"^https?://(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d{1,5})?$"
MOCK_API_PREFIX = "/_mock"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CROSS_SITE_FETCHES = frozenset({"cross-site", "same-site"})


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

    def __init__(
        self,
        app: ASGIApp,
        *,
        origins: Sequence[str],
        control_token: str | None,
        allowed_hosts: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.contract = CORSMiddleware(app, **middleware_options(origins))
        self.mock_api = CORSMiddleware(app, **mock_api_options(origins, control_token))
        self.allowed_hosts = frozenset(allowed_hosts)

    def refusal(self, scope: Scope) -> str | None:
        """Why the request must not be carried out (see the module's docstring), or None."""
        host = header(scope, b"host")
        server = scope.get("server")
        if server and is_loopback(str(server[0])) and not host_allowed(host, self.allowed_hosts):
            return f"Host {host!r} is not a loopback name: start with --allowed-host NAME to serve it"
        if scope["method"] in SAFE_METHODS or not scope["path"].startswith(MOCK_API_PREFIX):
            return None
        origin = header(scope, b"origin")
        if origin is not None:
            own = f"{scope.get('scheme', 'http')}://{host}".lower() if host else None
            if origin.lower() == own or (origin != "null" and self.mock_api.is_allowed_origin(origin)):
                return None
            return f"/_mock write from another site (Origin {origin!r})"
        fetch_site = header(scope, b"sec-fetch-site")
        if fetch_site is not None and fetch_site.lower() in CROSS_SITE_FETCHES:
            return f"/_mock write from another site (Sec-Fetch-Site {fetch_site!r})"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            reason = self.refusal(scope)
            if reason is not None:
                await refuse(scope, send, reason)
                return
        if scope["type"] == "http" and header(scope, b"origin") is None:
            await self.app(scope, receive, varying_on_origin(send))
            return
        is_mock_api = scope["type"] == "http" and scope["path"].startswith(MOCK_API_PREFIX)
        await (self.mock_api if is_mock_api else self.contract)(scope, receive, send)


async def refuse(scope: Scope, send: Send, reason: str) -> None:
    """403 in the mock API's error shape; nothing of the request was done."""
    error = errors.CrossSiteControlRequest(reason=reason)
    note_reason(scope, error.reason)
    body = json.dumps(error.body()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"vary", b"Origin"),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


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


def install(
    app: Any, origins: Sequence[str], control_token: str | None = None, allowed_hosts: Sequence[str] = ()
) -> None:
    """``app``: a connexion FlaskApp or AsyncApp. Bad origins raise ValueError here, at start-up:
    Connexion builds the middleware itself only on the first request."""
    validate_origins(origins)
    app.add_middleware(
        PathCORSMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        origins=origins,
        control_token=control_token,
        allowed_hosts=allowed_hosts,
    )
