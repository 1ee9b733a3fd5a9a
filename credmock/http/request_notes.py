"""What the request pipeline notes of a request for whoever observes it (the request log, the
journal): the reason an error answered it. The observing layer puts its record of the request in
the scope under :data:`NOTES_KEY`; the pipeline writes to it without knowing more of it."""

from __future__ import annotations

from typing import Any, Protocol

NOTES_KEY = "credmock.exchange"


class RequestNotes(Protocol):
    reason: str | None


def note_reason(scope: dict[str, Any] | Any, reason: str) -> None:
    """Record why the request failed, where the error response is made."""
    notes: RequestNotes | None = scope.get(NOTES_KEY)
    if notes is not None:
        notes.reason = reason
