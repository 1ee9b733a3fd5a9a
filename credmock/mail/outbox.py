"""The outbox: every email the mock "sends" is written here (:meth:`Outbox.send_token`) and lands
in the store, bounded in size; with an SMTP server configured, each is also delivered there (in
the background, see :mod:`credmock.mail.smtp`)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from credmock.core.messages import EMAIL_CHANGE, PASSWORD_RESET, SIGNUP_CONFIRMATION, Delivery, Email
from credmock.core.models import Customer, EmailToken
from credmock.core.token_source import TokenSource
from credmock.mail.compose import build_link, check_link_template, compose

if TYPE_CHECKING:
    from credmock.mail.smtp import SmtpDelivery
    from credmock.settings import Settings
    from credmock.store import Store


class Outbox:
    """Keeps the newest ``capacity`` emails in the store; older ones fall off so it stays bounded.

    With SMTP, an email's delivery status is kept in the store beside it (queued, then sent or
    failed, written by the sending process's delivery thread), so every instance shows it."""

    def __init__(
        self,
        store: Store,
        token_source: TokenSource,
        *,
        links: dict[str, str],
        capacity: int = 10_000,
        delivery: SmtpDelivery | None = None,
    ) -> None:
        """``links``: the link template of each kind of email, by kind."""
        self.capacity = capacity
        self.delivery = delivery
        self.links = links
        self._store = store
        self._token_source = token_source

    @classmethod
    def for_settings(cls, settings: Settings, store: Store, token_source: TokenSource) -> Outbox:
        """The outbox of ``settings``: delivering to ``settings.smtp_url`` when set (a bad URL, a
        bad sender or a link template that cannot be filled raises ValueError here, at start)."""
        check_link_template(settings.password_reset_link, "the password reset link (--reset-link)")
        check_link_template(settings.email_change_link, "the email change link (--email-change-link)")
        check_link_template(
            settings.signup_confirmation_link, "the signup confirmation link (--signup-confirmation-link)"
        )
        delivery = None
        if settings.smtp_url:
            from credmock.mail.smtp import SmtpDelivery

            delivery = SmtpDelivery(settings.smtp_url, settings.mail_from)
        links = {
            PASSWORD_RESET: settings.password_reset_link,
            EMAIL_CHANGE: settings.email_change_link,
            SIGNUP_CONFIRMATION: settings.signup_confirmation_link,
        }
        return cls(store, token_source, links=links, capacity=settings.outbox_capacity, delivery=delivery)

    def send_token(
        self, token: EmailToken, *, customer: Customer, to: str, lifetime: int, sent_at: float
    ) -> None:
        """Write the email that carries ``token`` to ``to`` (its purpose says which email) and send it."""
        link = build_link(self.links[token.purpose], tenant=customer.tenant, token=token.value, email=to)
        name = " ".join(part for part in (customer.first_name, customer.last_name) if part)
        subject, body, html = compose(
            token.purpose, name=name, token=token.value, link=link, lifetime_seconds=lifetime
        )
        self.send(
            Email(
                id=self._token_source.uuid(),
                tenant=customer.tenant,
                to=to,
                kind=token.purpose,
                subject=subject,
                body=body,
                html=html,
                name=name,
                token=token.value,
                link=link,
                customer_id=customer.id,
                sent_at=sent_at,
            )
        )

    def send(self, email: Email) -> None:
        """Keep ``email``; with SMTP, queue it for delivery too (never waits for the server)."""
        if self.delivery is None:
            self._store.add_email(email, self.capacity)
            return
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
