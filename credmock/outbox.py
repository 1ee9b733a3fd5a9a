"""The outbox: every email the mock "sends" lands here, in the store, bounded in size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from credmock.store import Store

PASSWORD_RESET = "password-reset"
EMAIL_CHANGE = "email-change"


@dataclass(frozen=True)
class Email:
    id: str
    tenant: str
    to: str
    kind: str
    subject: str
    body: str
    token: str
    link: str
    customer_id: str
    sent_at: float

    def to_dict(self, format_time: Callable[[float], str]) -> dict[str, str]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "to": self.to,
            "kind": self.kind,
            "subject": self.subject,
            "body": self.body,
            "token": self.token,
            "link": self.link,
            "customerId": self.customer_id,
            "sentAt": format_time(self.sent_at),
        }


class Outbox:
    """Keeps the newest ``capacity`` emails in the store; older ones fall off so it stays bounded."""

    def __init__(self, store: Store, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._store = store

    def send(self, email: Email) -> None:
        self._store.add_email(email, self.capacity)

    def find(
        self,
        *,
        tenant: str | None = None,
        to: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
    ) -> list[Email]:
        """Matching emails, newest first. ``to`` matches case-insensitively."""
        wanted_to = to.casefold() if to else None
        found: list[Email] = []
        for email in self._store.emails():
            if tenant and email.tenant != tenant:
                continue
            if wanted_to and email.to.casefold() != wanted_to:
                continue
            if kind and email.kind != kind:
                continue
            found.append(email)
            if limit is not None and len(found) >= limit:
                break
        return found

    def latest(self, **filters: str | None) -> Email | None:
        found = self.find(limit=1, **filters)
        return found[0] if found else None

    def clear(self) -> None:
        self._store.clear_outbox()

    def __len__(self) -> int:
        return self._store.email_count()
