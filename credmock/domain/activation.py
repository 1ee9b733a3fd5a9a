"""Double opt-in: in the tenants that ask for it, a signup creates an inactive account and emails
an activation link; opening it activates the account and signs the customer in. Until then a
login is refused, and the link can be sent again (the previous one stops working)."""

from __future__ import annotations

from typing import Any

from credmock.core import exceptions as errors
from credmock.core.email_address import normalise_email
from credmock.core.messages import SIGNUP_CONFIRMATION
from credmock.core.models import AccessToken, Address, Customer
from credmock.core.seeding import double_opt_in_tenants
from credmock.domain.customers import Customers
from credmock.domain.email_tokens import EmailTokens
from credmock.domain.sessions import Sessions
from credmock.domain.tenants import TenantRule
from credmock.settings import Settings
from credmock.store import Store

# The value of ``Settings.double_opt_in`` that turns it on for every tenant.
EVERY_TENANT = "*"


class Activation:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        tenant_rule: TenantRule,
        customers: Customers,
        sessions: Sessions,
        email_tokens: EmailTokens,
    ) -> None:
        self.settings = settings
        self.store = store
        self.tenant_rule = tenant_rule
        self.customers = customers
        self.sessions = sessions
        self.email_tokens = email_tokens
        marked = double_opt_in_tenants(settings.fixtures_path) if settings.fixtures_path else frozenset()
        self.double_opt_in_tenants = frozenset(settings.double_opt_in) | marked

    def double_opt_in(self, tenant: str) -> bool:
        """Whether signups of ``tenant`` wait for the emailed link."""
        return EVERY_TENANT in self.double_opt_in_tenants or tenant in self.double_opt_in_tenants

    def signup(
        self, tenant: str, email: str, password: str, *, address: Address | None = None, **details: Any
    ) -> Customer:
        """A storefront signup (:meth:`Customers.signup`); with double opt-in the account is
        inactive and its activation link is emailed to the login email."""
        inactive = self.double_opt_in(tenant)
        customer = self.customers.signup(
            tenant, email, password, address=address, active=not inactive, **details
        )
        if inactive:
            self._send_link(customer)
        return customer

    def confirm_signup(self, tenant: str, token: str) -> AccessToken:
        """Activate the account of an activation token (spent: it works once) and start its
        session; 400 for a token unknown, spent, expired, replaced or of another tenant."""
        self.tenant_rule.validate(tenant)
        email_token = self.email_tokens.live(tenant, token, SIGNUP_CONFIRMATION)
        self.email_tokens.spend(email_token)
        self.store.activate_customer(tenant, email_token.customer_id)
        customer = self.store.customer(tenant, email_token.customer_id)
        session = None if customer is None else self.sessions.start_customer_session(customer)
        if session is None:
            raise errors.InvalidEmailToken(
                reason=f"{SIGNUP_CONFIRMATION} token of a customer removed meanwhile"
            )
        return session

    def resend_activation(self, tenant: str, email: str) -> None:
        """A new activation link for an account not activated yet; the previous link stops
        working. Says nothing of whether the email has such an account."""
        self.tenant_rule.validate(tenant)
        customer = self.store.customer_by_email(tenant, normalise_email(email, "email"))
        if customer is not None and not customer.active:
            self._send_link(customer)

    def _send_link(self, customer: Customer) -> None:
        self.email_tokens.send(
            customer, SIGNUP_CONFIRMATION, self.settings.signup_confirmation_token_lifetime, to=customer.email
        )
