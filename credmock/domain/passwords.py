"""Passwords: request a reset (a token is emailed), reset with that token, change while logged in."""

from __future__ import annotations

from dataclasses import dataclass

from credmock.core import exceptions as errors
from credmock.core.messages import PASSWORD_RESET
from credmock.core.models import AccessToken
from credmock.core.passwords import hash_password, verify_password
from credmock.core.token_source import TokenSource
from credmock.domain.email_tokens import EmailTokens
from credmock.domain.sessions import customer_of
from credmock.settings import Settings
from credmock.store import Store


def check_password_policy(settings: Settings, password: str, field: str) -> None:
    minimum = settings.password_min_length
    if len(password) < minimum:
        raise errors.PasswordPolicyViolation(
            f"The password must have at least {minimum} characters.",
            [errors.FieldProblem(field, "too_short", f"At least {minimum} characters are required.")],
            reason=f"{field}: shorter than {minimum}",
        )


@dataclass
class Passwords:
    settings: Settings
    store: Store
    token_source: TokenSource
    email_tokens: EmailTokens

    def request_reset_password(self, tenant: str, email: str) -> None:
        """Email a reset token to a known customer; say nothing about unknown emails."""
        customer = self.store.customer_by_email(tenant, email)
        if customer is None:
            return
        self.email_tokens.send(
            customer, PASSWORD_RESET, self.settings.password_reset_token_lifetime, to=customer.email
        )

    def reset_password(self, tenant: str, token: str, password: str) -> None:
        """The new password for the token's customer; the token is spent (a too short password
        keeps it) and the customer's access tokens stop working."""
        email_token = self.email_tokens.live(tenant, token, PASSWORD_RESET)
        check_password_policy(self.settings, password, "password")
        self.email_tokens.spend(email_token)
        self.store.set_password_hash(
            tenant, email_token.customer_id, hash_password(password, self.token_source.salt())
        )
        self.store.forget_access_tokens(tenant, email_token.customer_id)

    def change_account_password(
        self, access_token: AccessToken, current_password: str, new_password: str
    ) -> None:
        customer = customer_of(self.store, access_token)
        if not verify_password(current_password, customer.password_hash):
            raise errors.WrongCurrentPassword()
        check_password_policy(self.settings, new_password, "new_password")
        new_hash = hash_password(new_password, self.token_source.salt())
        if not self.store.set_password_hash(
            customer.tenant, customer.id, new_hash, replacing=customer.password_hash
        ):
            customer_of(self.store, access_token)  # 401 when removed meanwhile
            raise errors.WrongCurrentPassword(reason="the password was changed by another request meanwhile")
