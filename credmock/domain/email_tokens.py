"""One-time tokens sent by email: issued with the email that carries them, spent once."""

from __future__ import annotations

from typing import Any

from credmock import exceptions as errors
from credmock.domain.base import DomainBase
from credmock.mail import build_link, compose
from credmock.models import Customer, EmailToken
from credmock.outbox import PASSWORD_RESET, Email

EMAIL_TOKEN_LENGTH = 64


class EmailTokenRules(DomainBase):
    def _send_email_token(
        self, customer: Customer, purpose: str, lifetime: int, *, to: str, **binding: Any
    ) -> EmailToken | None:
        """A new one-time token, replacing the customer's previous one of the same purpose,
        and the email that carries it; None (no token, no email) when the customer was removed
        meanwhile (a reset, perhaps on another instance)."""
        now = self.clock.now()
        self.purge_expired_if_due(now)  # type: ignore[attr-defined]
        token = EmailToken(
            value=self.token_source.token(EMAIL_TOKEN_LENGTH),
            tenant=customer.tenant,
            customer_id=customer.id,
            purpose=purpose,
            expires_at=now + lifetime,
            **binding,
        )
        template = (
            self.settings.password_reset_link
            if purpose == PASSWORD_RESET
            else self.settings.email_change_link
        )
        link = build_link(template, tenant=customer.tenant, token=token.value, email=to)
        name = " ".join(part for part in (customer.first_name, customer.last_name) if part)
        subject, body, html = compose(
            purpose, name=name, token=token.value, link=link, lifetime_seconds=lifetime
        )
        email = Email(
            id=self.token_source.uuid(),
            tenant=customer.tenant,
            to=to,
            kind=purpose,
            subject=subject,
            body=body,
            html=html,
            name=name,
            token=token.value,
            link=link,
            customer_id=customer.id,
            sent_at=now,
        )
        if not self.store.replace_email_token(token):
            return None
        self.outbox.send(email)
        return token

    def _live_email_token(self, tenant: str, value: str, purpose: str) -> EmailToken:
        """The live token of ``purpose``, or 400 when unknown, spent, expired or of another tenant."""
        token = self.store.email_token(value)
        if token is None or token.tenant != tenant or token.purpose != purpose:
            raise errors.InvalidEmailToken(reason=f"{purpose} token unknown, spent or of another tenant")
        if token.expires_at <= self.clock.now():
            self.store.spend_email_token(value)
            raise errors.InvalidEmailToken(reason=f"{purpose} token expired")
        return token

    def _spend_email_token(self, token: EmailToken) -> None:
        """Spend the token, or 400 when another request spent it first."""
        if not self.store.spend_email_token(token.value):
            raise errors.InvalidEmailToken(reason=f"{token.purpose} token spent by another request meanwhile")
