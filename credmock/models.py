"""The mock's state: customers, access tokens and one-time email tokens, kept per tenant."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ANONYMOUS = "anonymous"
CUSTOMER = "customer"

PROFILE_EDIT_SCOPE = "customer.customerprofile_edit"
# The scopes the real service grants a customer token (its validateauthtoken example).
DEFAULT_CUSTOMER_SCOPES: tuple[str, ...] = (
    "customer.customer_read_own",
    "customer.customer_manage_own",
    PROFILE_EDIT_SCOPE,
    "customer.customerprofile_view",
    "customer.consent_view",
    "customer.consent_manage",
    "order.order_readascustomer",
    "order.order_updateascustomer",
    "order.history_view",
    "quote.quote_read_own",
    "quote.quote_manage_own",
    "returns.returns_read_own",
    "returns.returns_manage_own",
    "coupon.coupon_redeem",
)


@dataclass
class Customer:
    id: str
    tenant: str
    email: str
    contact_email: str
    password_hash: str
    first_name: str = ""
    last_name: str = ""

    def public_view(self) -> dict[str, str]:
        """What the mock API shows of a customer: never the password hash."""
        return {
            "id": self.id,
            "email": self.email,
            "contactEmail": self.contact_email,
            "firstName": self.first_name,
            "lastName": self.last_name,
        }

    def profile_view(self) -> dict[str, Any]:
        """The profile ``GET /customer/{tenant}/me`` shows: the login email is the account id."""
        return {
            "id": self.id,
            "customerNumber": self.id,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "contactEmail": self.contact_email,
            "accounts": [{"id": self.email}],
        }


@dataclass
class AccessToken:
    value: str
    tenant: str
    kind: str
    issued_at: float
    expires_at: float
    session_id: str
    customer_id: str | None = None
    scopes: tuple[str, ...] = ()
    refresh_token: str | None = None

    @property
    def expires_in(self) -> int:
        return round(self.expires_at - self.issued_at)

    @property
    def scope(self) -> str:
        """The ``scope`` string of the real token responses: scopes, then ``tenant=<tenant>``."""
        return " ".join([*self.scopes, f"tenant={self.tenant}"])


@dataclass
class EmailToken:
    """A one-time token sent by email: bound to tenant, customer and purpose."""

    value: str
    tenant: str
    customer_id: str
    purpose: str
    expires_at: float
    new_email: str | None = None
    sync_contact_email: bool = False


@dataclass
class TenantState:
    """Everything one tenant owns. Created on the tenant's first use."""

    name: str
    customers: dict[str, Customer] = field(default_factory=dict)
    # casefolded login email -> customer id
    customer_ids_by_email: dict[str, str] = field(default_factory=dict)
    email_tokens: dict[str, EmailToken] = field(default_factory=dict)
    # (customer id, purpose) -> the one live token of that purpose
    live_email_tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def customer_by_email(self, email: str) -> Customer | None:
        customer_id = self.customer_ids_by_email.get(email.casefold())
        return self.customers.get(customer_id) if customer_id else None
