"""The request line and headers as the app reads them, normalised once before routing.

- Header values lose the whitespace around them (RFC 9110's optional whitespace is not part of
  the value; h11 strips it, httptools keeps the trailing part), so ``Bearer <token> `` is the
  token and ``application/json `` is JSON.
- ``Content-Type`` is lowercased where HTTP says case does not matter (the media type and
  parameter names, the charset), so ``APPLICATION/JSON`` reaches the body validator like
  ``application/json``; bytes outside ASCII in it become ``?``.
- An encoded slash or control character stays inside its path segment, so a tenant such as
  ``de%2Fmo`` or ``de%0Amo`` is a malformed tenant (400), as the contract reads it, not another
  path or no route at all (404); doubled slashes are merged (as nginx's ``merge_slashes``).
- A trailing slash is another path, unknown like any other (404), never a redirect to the path
  without it: no operation of the served documents ends with one.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from credmock.core import exceptions as errors
from credmock.http.request_body import media_type

_KEPT_ENCODED = re.compile(r"[/\x00-\x1f\x7f]")
_SLASHES = re.compile("/{2,}")
_OPTIONAL_WHITESPACE = b" \t"


@functools.lru_cache(maxsize=64)  # clients send the same few values; one entry is a few bytes
def _normalised_short_content_type(value: str) -> str:
    return normalised_content_type(value)


def normalised_content_type(value: str) -> str:
    """``Application/Json ;Charset=UTF-8`` -> ``application/json; charset=utf-8``."""
    essence, parameters = media_type(value)
    if "charset" in parameters:
        parameters["charset"] = parameters["charset"].lower()
    return "; ".join([essence, *(f"{name}={parameter}" for name, parameter in parameters.items())])


def normalised_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]] | None:
    """The headers with their values trimmed and Content-Type normalised; None if unchanged."""
    changed = False
    result: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        trimmed = value.strip(_OPTIONAL_WHITESPACE)
        if name == b"content-type":  # ASGI servers lowercase header names
            # A media type is ASCII: other bytes (Connexion reads them as UTF-8) become "?",
            # which leaves the type unsupported where a body is read, and ignored elsewhere.
            text = trimmed.decode("latin-1")
            content_type = (
                _normalised_short_content_type(text) if len(text) <= 100 else normalised_content_type(text)
            )
            trimmed = content_type.encode("ascii", errors="replace")
        changed = changed or trimmed != value
        result.append((name, trimmed))
    return result if changed else None


def routed_path(path: str, raw_path: bytes | None) -> str:
    """The path routing sees: encoded slashes and control characters kept in their segment,
    doubled slashes merged."""
    if "//" not in path and (not raw_path or (b"%" not in raw_path and path.isprintable())):
        return path  # nothing encoded, no control character, no doubled slash: as it came
    if raw_path and (b"%2f" in raw_path.lower() or _KEPT_ENCODED.search(path.replace("/", ""))):
        segments = (unquote(segment) for segment in raw_path.decode("latin-1").split("/"))
        path = "/".join(
            _KEPT_ENCODED.sub(lambda match: f"%{ord(match.group()):02X}", segment) for segment in segments
        )
    return _SLASHES.sub("/", path)


class RequestHeadMiddleware:
    """Normalises the path and headers of each HTTP request (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = routed_path(scope["path"], scope.get("raw_path"))
            if len(path) > 1 and path.endswith("/"):
                raise errors.NotFound()
            headers = normalised_headers(scope["headers"])
            if path != scope["path"] or headers is not None:
                scope = {**scope, "path": path, "headers": headers or scope["headers"]}
        await self.app(scope, receive, send)
