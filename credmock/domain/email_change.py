"""Login email change: request it (a token is emailed to the new address), confirm it."""

from __future__ import annotations

from credmock import exceptions as errors
from credmock.domain.email_tokens import EmailTokenRules
from credmock.domain.sessions import customer_gone
from credmock.email_address import normalise_email, same_email
from credmock.models import PROFILE_EDIT_SCOPE, AccessToken, Customer
from credmock.outbox import EMAIL_CHANGE
from credmock.passwords import verify_password


def _email_taken(email: str) -> errors.EmailAlreadyUsed:
    return errors.EmailAlreadyUsed(
        f"The email '{email}' is already used by another customer.",
        [errors.FieldProblem("new_email", "already_used", "This email is already used.")],
    )


class EmailChangeRules(EmailTokenRules):
    def require_profile_edit_scope(self, access_token: AccessToken) -> None:
        if PROFILE_EDIT_SCOPE not in access_token.scopes:
            raise errors.MissingScope(PROFILE_EDIT_SCOPE)

    def change_customer_login_email(
        self,
        access_token: AccessToken,
        email: str,
        password: str,
        new_email: str,
        sync_contact_email: bool = False,
    ) -> None:
        """Email a confirmation token to ``new_email``; nothing changes until it is confirmed."""
        self.require_profile_edit_scope(access_token)
        new_email = normalise_email(new_email, "new_email")
        customer = self._customer_of(access_token)  # type: ignore[attr-defined]
        if not same_email(email, customer.email):
            raise errors.InvalidCredentials(reason="email is not the login email of the token's customer")
        if not verify_password(password, customer.password_hash):
            raise errors.InvalidCredentials(reason="wrong password")
        if same_email(new_email, customer.email):
            raise errors.SameEmail(
                details=[errors.FieldProblem("new_email", "same_value", errors.SameEmail.default_message)]
            )
        owner = self.store.customer_by_email(access_token.tenant, new_email)
        if owner is not None and owner.id != customer.id:
            raise _email_taken(new_email)
        sent = self._send_email_token(
            customer,
            EMAIL_CHANGE,
            self.settings.email_change_token_lifetime,
            to=new_email,
            new_email=new_email,
            sync_contact_email=sync_contact_email,
        )
        if sent is None:
            raise customer_gone()

    def confirm_customer_login_email(self, tenant: str, token: str) -> Customer:
        email_token = self._live_email_token(tenant, token, EMAIL_CHANGE)
        self._spend_email_token(email_token)
        new_email = email_token.new_email or ""
        changed = self.store.change_login_email(
            tenant, email_token.customer_id, new_email, sync_contact_email=email_token.sync_contact_email
        )
        customer = self.store.customer(tenant, email_token.customer_id)
        if customer is None:
            raise errors.InvalidEmailToken(reason=f"{EMAIL_CHANGE} token of a customer removed meanwhile")
        if not changed:
            raise _email_taken(new_email)
        return customer
