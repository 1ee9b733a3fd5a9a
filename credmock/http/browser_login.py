"""A person's way into a page guarded by the control token (the inbox): a browser cannot send
the ``X-Mock-Control-Token`` header, so when it opens the page without the token (``Accept:
text/html``) its 401 is a small page with a form asking for the token, which opens the page
again as ``?controlToken=TOKEN`` (the query the page's own API accepts). The answer stays a
401, nothing is served without the token, and every other client gets the JSON error."""

from __future__ import annotations

import html
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credmock.http.compiled import header
from credmock.settings import CONTROL_TOKEN_ENV

LOGIN_HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"www-authenticate", b'X-Mock-Control-Token realm="credmock /_mock"'),
]


def login_page(title: str) -> bytes:
    """The 401 page: what the token is, where it comes from, and a form to give it."""
    title = html.escape(title)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: control token needed</title>
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 34rem; margin: 4rem auto; padding: 0 1rem;
    color: #1d2330; line-height: 1.5; }}
  input {{ font: inherit; padding: 6px 10px; width: 100%; box-sizing: border-box; margin: 6px 0 12px; }}
  button {{ font: inherit; padding: 6px 14px; }}
  code {{ background: #f4f5f7; padding: 1px 4px; }}
</style></head>
<body>
<h1>{title}</h1>
<p>This credmock was started with a control token (<code>--control-token</code> or
<code>{CONTROL_TOKEN_ENV}</code>); with <code>--control-token generate</code>, the server printed
it when it started. Give it to open the page.</p>
<form method="get">
<label for="controlToken">Control token</label>
<input type="password" id="controlToken" name="controlToken" autocomplete="off" required autofocus>
<button type="submit">Open</button>
</form>
<p>The token then travels in this page's address (<code>?controlToken=...</code>); the page sends
it as the <code>X-Mock-Control-Token</code> header on each of its calls.</p>
</body></html>
""".encode()


class BrowserLoginMiddleware:
    """Turns the 401 of a guarded page (``pages``: path -> title) into the login page for a
    browser that asked for HTML."""

    def __init__(self, app: ASGIApp, *, pages: dict[str, str]) -> None:
        self.app = app
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        title = self.pages.get(scope["path"]) if scope["type"] == "http" else None
        if title is None or scope["method"] != "GET" or not accepts_html(header(scope, b"accept")):
            await self.app(scope, receive, send)
            return
        replaced = False

        async def send_login_page(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 401:
                replaced = True
                body = login_page(title)
                headers = [*LOGIN_HEADERS, (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": body})
            elif not replaced:
                await send(message)

        await self.app(scope, receive, send_login_page)


def accepts_html(accept: str | None) -> bool:
    """Whether ``Accept`` names HTML, as a browser's navigation does (not ``*/*`` alone)."""
    return accept is not None and "text/html" in _media_types(accept.lower().split(","))


def _media_types(parts: Iterable[str]) -> set[str]:
    return {part.split(";", 1)[0].strip() for part in parts}
