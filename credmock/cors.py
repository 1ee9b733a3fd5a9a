"""CORS for every path, so a storefront on another origin can call the mock from a browser.

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
from starlette.middleware.cors import CORSMiddleware

ANY_ORIGIN = "*"
# Response headers a page may read beyond the CORS-safelisted ones.
EXPOSED_HEADERS = ("Location", "Retry-After", "WWW-Authenticate")
PREFLIGHT_MAX_AGE_SECONDS = 600
_ORIGIN = re.compile(r"^https?://[^/?#\s]+$")


def validate_origins(origins: Sequence[str]) -> tuple[str, ...]:
    """The origins as given, or ValueError for one a browser would never send (a path, no scheme)."""
    for origin in origins:
        if origin != ANY_ORIGIN and not _ORIGIN.match(origin):
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


def install(app: Any, origins: Sequence[str]) -> None:  # app: connexion.FlaskApp or AsyncApp
    app.add_middleware(
        CORSMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, **middleware_options(origins)
    )
