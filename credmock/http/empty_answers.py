"""An answer without a body carries no ``Content-Type``: a 204, a 304, and an empty 200 (an
update's answer). Connexion's response decorator, Flask and the compiled operations all give
one the operation's media type; a client that reads the header and then parses the body would
parse nothing. Removed here, for both engines, as the answer leaves."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BODILESS_STATUSES = frozenset({204, 304})


def without_content_type(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name, value) for name, value in headers if name.lower() != b"content-type"]


def is_bodiless(message: Message) -> bool:
    """Whether the answer starting with ``message`` has no body: its status allows none, or it
    says its length is 0."""
    if message["status"] in _BODILESS_STATUSES:
        return True
    return any(
        name.lower() == b"content-length" and value.strip() == b"0" for name, value in message["headers"]
    )


class EmptyAnswerMiddleware:
    """Drops ``Content-Type`` from every answer without a body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_answer(message: Message) -> None:
            if message["type"] == "http.response.start" and is_bodiless(message):
                message = {**message, "headers": without_content_type(list(message.get("headers", ())))}
            await send(message)

        await self.app(scope, receive, send_answer)
