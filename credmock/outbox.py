"""The outbox: every email the mock "sends" lands here, in the store, bounded in size; with an
SMTP server configured, each is also delivered there (in the background, see credmock.smtp)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from credmock.settings import Settings
    from credmock.smtp import Delivery, SmtpDelivery
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
    html: str = ""
    name: str = ""  # the recipient's name, as the customer gave it
    # Set when the outbox also delivers to an SMTP server: queued, sent or failed (and why).
    delivery: Delivery | None = field(default=None, compare=False)

    def to_dict(self, format_time: Callable[[float], str]) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": self.id,
            "tenant": self.tenant,
            "to": self.to,
            "kind": self.kind,
            "subject": self.subject,
            "body": self.body,
            "html": self.html,
            "token": self.token,
            "link": self.link,
            "customerId": self.customer_id,
            "sentAt": format_time(self.sent_at),
        }
        if self.delivery is not None:
            view["delivery"] = self.delivery.to_dict(format_time)
        return view


class Outbox:
    """Keeps the newest ``capacity`` emails in the store; older ones fall off so it stays bounded.

    With SMTP, an email's delivery status is kept in the store beside it (queued, then sent or
    failed, written by the sending process's delivery thread), so every instance shows it."""

    def __init__(self, store: Store, capacity: int = 10_000, delivery: SmtpDelivery | None = None) -> None:
        self.capacity = capacity
        self.delivery = delivery
        self._store = store

    @classmethod
    def for_settings(cls, settings: Settings, store: Store) -> Outbox:
        """The outbox of ``settings``: delivering to ``settings.smtp_url`` when set (a bad URL or
        sender raises ValueError here, at start)."""
        delivery = None
        if settings.smtp_url:
            from credmock.smtp import SmtpDelivery

            delivery = SmtpDelivery(settings.smtp_url, settings.mail_from)
        return cls(store, settings.outbox_capacity, delivery)

    def send(self, email: Email) -> None:
        """Keep ``email``; with SMTP, queue it for delivery too (never waits for the server)."""
        if self.delivery is None:
            self._store.add_email(email, self.capacity)
            return
        from credmock.smtp import Delivery

        self._store.add_email(dataclasses.replace(email, delivery=Delivery()), self.capacity)
        self.delivery.submit(email, lambda delivery: self._store.set_delivery(email.id, delivery))

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
