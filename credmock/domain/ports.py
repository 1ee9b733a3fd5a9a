"""What the domain needs from the layers above it, as protocols: the composition root
(:mod:`credmock.app`) passes in an object that fits, and the domain never imports it."""

from __future__ import annotations

from typing import Protocol

from credmock.core.models import Customer, EmailToken


class Outbox(Protocol):
    """Sends the email that carries a one-time token (the mail layer writes and keeps it)."""

    def send_token(
        self, token: EmailToken, *, customer: Customer, to: str, lifetime: int, sent_at: float
    ) -> None: ...
