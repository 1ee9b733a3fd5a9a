"""The outbox: every email the mock "sends" lands here, newest last, bounded in size."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

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
    """Keeps the newest ``capacity`` emails; older ones fall off so memory stays bounded."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._emails: deque[Email] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def send(self, email: Email) -> None:
        with self._lock:
            self._emails.append(email)

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
        with self._lock:
            snapshot = list(self._emails)
        found: list[Email] = []
        for email in reversed(snapshot):
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
        with self._lock:
            self._emails.clear()

    def __len__(self) -> int:
        return len(self._emails)
