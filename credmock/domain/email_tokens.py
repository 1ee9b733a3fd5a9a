"""One-time tokens sent by email: issued with the email that carries them, spent once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from credmock.core import exceptions as errors
from credmock.core.clock import Clock
from credmock.core.models import Customer, EmailToken
from credmock.core.token_source import TokenSource
from credmock.domain.ports import Outbox
from credmock.domain.purging import Purger
from credmock.store import Store

EMAIL_TOKEN_LENGTH = 64


@dataclass
class EmailTokens:
    store: Store
    clock: Clock
    token_source: TokenSource
    purger: Purger
    outbox: Outbox

    def send(
        self, customer: Customer, purpose: str, lifetime: int, *, to: str, **binding: Any
    ) -> EmailToken | None:
        """A new one-time token, replacing the customer's previous one of the same purpose,
        and the email that carries it; None (no token, no email) when the customer was removed
        meanwhile (a reset, perhaps on another instance)."""
        now = self.clock.now()
        self.purger.purge_expired_if_due(now)
        token = EmailToken(
            value=self.token_source.token(EMAIL_TOKEN_LENGTH),
            tenant=customer.tenant,
            customer_id=customer.id,
            purpose=purpose,
            expires_at=now + lifetime,
            **binding,
        )
        if not self.store.replace_email_token(token):
            return None
        self.outbox.send_token(token, customer=customer, to=to, lifetime=lifetime, sent_at=now)
        return token

    def live(self, tenant: str, value: str, purpose: str) -> EmailToken:
        """The live token of ``purpose``, or 400 when unknown, spent, expired or of another tenant."""
        token = self.store.email_token(value)
        if token is None or token.tenant != tenant or token.purpose != purpose:
            raise errors.InvalidEmailToken(reason=f"{purpose} token unknown, spent or of another tenant")
        if token.expires_at <= self.clock.now():
            self.store.spend_email_token(value)
            raise errors.InvalidEmailToken(reason=f"{purpose} token expired")
        return token

    def spend(self, token: EmailToken) -> None:
        """Spend the token, or 400 when another request spent it first."""
        if not self.store.spend_email_token(token.value):
            raise errors.InvalidEmailToken(reason=f"{token.purpose} token spent by another request meanwhile")
