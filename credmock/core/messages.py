"""The emails the mock sends, as the store keeps them: what was sent, to whom, carrying which
token, and how its SMTP delivery went. Plain values: the store, the domain and the mail layer all
reach them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

QUEUED, SENT, FAILED = "queued", "sent", "failed"


@dataclass
class Delivery:
    """How the delivery of one email went; updated by the delivery thread."""

    status: str = QUEUED
    error: str | None = None
    finished_at: float | None = None

    def to_dict(self, format_time: Callable[[float], str]) -> dict[str, Any]:
        view: dict[str, Any] = {"status": self.status}
        if self.error is not None:
            view["error"] = self.error
        if self.finished_at is not None:
            view["at"] = format_time(self.finished_at)
        return view



PASSWORD_RESET = "password-reset"
EMAIL_CHANGE = "email-change"
# Double opt-in: the link that activates a new account.
SIGNUP_CONFIRMATION = "signup-confirmation"


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


