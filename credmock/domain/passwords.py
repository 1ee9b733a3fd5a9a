"""Passwords: request a reset (a token is emailed), reset with that token, change while logged in."""

from __future__ import annotations

from credmock import exceptions as errors
from credmock.domain.email_tokens import EmailTokenRules
from credmock.models import AccessToken
from credmock.outbox import PASSWORD_RESET
from credmock.passwords import hash_password, verify_password
from credmock.settings import Settings


def check_password_policy(settings: Settings, password: str, field: str) -> None:
    minimum = settings.password_min_length
    if len(password) < minimum:
        raise errors.PasswordPolicyViolation(
            f"The password must have at least {minimum} characters.",
            [errors.FieldProblem(field, "too_short", f"At least {minimum} characters are required.")],
            reason=f"{field}: shorter than {minimum}",
        )


class PasswordRules(EmailTokenRules):
    def request_reset_password(self, tenant: str, email: str) -> None:
        """Email a reset token to a known customer; say nothing about unknown emails."""
        customer = self.store.customer_by_email(tenant, email)
        if customer is None:
            return
        self._send_email_token(
            customer, PASSWORD_RESET, self.settings.password_reset_token_lifetime, to=customer.email
        )

    def reset_password(self, tenant: str, token: str, password: str) -> None:
        """The new password for the token's customer; the token is spent (a too short password
        keeps it) and the customer's access tokens stop working."""
        email_token = self._live_email_token(tenant, token, PASSWORD_RESET)
        check_password_policy(self.settings, password, "password")
        self._spend_email_token(email_token)
        self.store.set_password_hash(
            tenant, email_token.customer_id, hash_password(password, self.token_source.salt())
        )
        self.store.forget_access_tokens(tenant, email_token.customer_id)

    def change_account_password(
        self, access_token: AccessToken, current_password: str, new_password: str
    ) -> None:
        customer = self._customer_of(access_token)  # type: ignore[attr-defined]
        if not verify_password(current_password, customer.password_hash):
            raise errors.WrongCurrentPassword()
        check_password_policy(self.settings, new_password, "new_password")
        new_hash = hash_password(new_password, self.token_source.salt())
        if not self.store.set_password_hash(
            customer.tenant, customer.id, new_hash, replacing=customer.password_hash
        ):
            self._customer_of(access_token)  # type: ignore[attr-defined]  # 401 when removed meanwhile
            raise errors.WrongCurrentPassword(reason="the password was changed by another request meanwhile")
