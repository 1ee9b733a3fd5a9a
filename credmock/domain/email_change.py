"""Login email change: request it (a token is emailed to the new address), confirm it."""

from __future__ import annotations

from dataclasses import dataclass

from credmock.core import exceptions as errors
from credmock.core.email_address import normalise_email, same_email
from credmock.core.messages import EMAIL_CHANGE
from credmock.core.models import AccessToken, Customer
from credmock.core.passwords import verify_password
from credmock.domain.email_tokens import EmailTokens
from credmock.domain.sessions import customer_gone, customer_of, require_profile_edit_scope
from credmock.settings import Settings
from credmock.store import Store


def _email_taken(email: str) -> errors.EmailAlreadyUsed:
    return errors.EmailAlreadyUsed(
        f"The email '{email}' is already used by another customer.",
        [errors.FieldProblem("new_email", "already_used", "This email is already used.")],
    )


@dataclass
class EmailChanges:
    settings: Settings
    store: Store
    email_tokens: EmailTokens

    def change_customer_login_email(
        self,
        access_token: AccessToken,
        email: str,
        password: str,
        new_email: str,
        sync_contact_email: bool = False,
    ) -> None:
        """Email a confirmation token to ``new_email``; nothing changes until it is confirmed."""
        require_profile_edit_scope(access_token)
        new_email = normalise_email(new_email, "new_email")
        customer = customer_of(self.store, access_token)
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
        sent = self.email_tokens.send(
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
        email_token = self.email_tokens.live(tenant, token, EMAIL_CHANGE)
        self.email_tokens.spend(email_token)
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
