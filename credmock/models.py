"""The mock's state: customers, access tokens and one-time email tokens, kept per tenant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from credmock import exceptions as errors

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


# The site a customer prefers when they named none (the reference's default).
DEFAULT_SITE = "main"
# Text fields of the reference's ``customerDetails`` kept as given: wire name -> attribute.
PROFILE_TEXT_FIELDS = {
    "title": "title",
    "middleName": "middle_name",
    "contactPhone": "contact_phone",
    "company": "company",
    "preferredLanguage": "preferred_language",
    "preferredCurrency": "preferred_currency",
    "preferredSite": "preferred_site",
}
# Every ``customerDetails`` field a profile keeps (names and contact email live on the customer).
PROFILE_FIELDS = (*PROFILE_TEXT_FIELDS, "b2b", "mixins", "metadata")


@dataclass
class CustomerProfile:
    """What a customer tells about themselves at signup beyond names and emails: the rest of the
    reference's ``customerDetails``. Plain data, so a store can serialise it as it is."""

    title: str | None = None
    middle_name: str | None = None
    contact_phone: str | None = None
    company: str | None = None
    preferred_language: str | None = None
    preferred_currency: str | None = None
    preferred_site: str | None = None
    # b2b.companyRegistrationId: a customer of a company (``businessModel`` B2B).
    company_registration_id: str | None = None
    mixins: dict[str, Any] = field(default_factory=dict)
    # metadata.mixins: mixin name -> the URL of its schema.
    mixin_schemas: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_details(cls, details: Mapping[str, Any], prefix: str = "") -> CustomerProfile:
        """The profile of a ``customerDetails`` mapping (signup body, fixtures entry); a field of
        the wrong type is a 400 naming ``prefix`` + the field."""

        def problem(name: str, expected: str) -> errors.ValidationFailed:
            return errors.ValidationFailed.for_field(
                prefix + name, "invalid_type", f"'{prefix}{name}' must be {expected}."
            )

        def mapping(value: Any, name: str) -> dict[str, Any]:
            if value is None:
                return {}
            if not isinstance(value, Mapping):
                raise problem(name, "an object")
            return dict(value)

        texts: dict[str, str | None] = {}
        for wire, attribute in PROFILE_TEXT_FIELDS.items():
            value = details.get(wire)
            if value is not None and not isinstance(value, str):
                raise problem(wire, "a string")
            texts[attribute] = value
        currency = texts["preferred_currency"]
        if currency is not None and len(currency) != 3:
            raise errors.ValidationFailed.for_field(
                f"{prefix}preferredCurrency",
                "invalid_format",
                f"'{prefix}preferredCurrency' must be a three-letter ISO 4217 code.",
            )
        b2b = mapping(details.get("b2b"), "b2b")
        registration = b2b.get("companyRegistrationId")
        if registration is not None and not isinstance(registration, str):
            raise problem("b2b.companyRegistrationId", "a string")
        metadata = mapping(details.get("metadata"), "metadata")
        return cls(
            **texts,
            company_registration_id=registration or None,
            mixins=mapping(details.get("mixins"), "mixins"),
            mixin_schemas=mapping(metadata.get("mixins"), "metadata.mixins"),
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
    profile: CustomerProfile = field(default_factory=CustomerProfile)
    # The password was set by an employee (fixtures ``initialPassword``), not yet by the customer.
    initial_password: bool = False
    # metadata.version of the profile: 1 when created, one more on each change of it.
    version: int = 1

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
        profile = self.profile
        texts = {wire: getattr(profile, attribute) for wire, attribute in PROFILE_TEXT_FIELDS.items()}
        view: dict[str, Any] = {
            "id": self.id,
            "customerNumber": self.id,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "contactEmail": self.contact_email,
            **{wire: value for wire, value in texts.items() if value is not None},
            "preferredSite": profile.preferred_site or DEFAULT_SITE,
            "accounts": [{"id": self.email}],
            "businessModel": "B2B" if profile.company_registration_id else "B2C",
            "mixins": dict(profile.mixins),
            "metadata": {"mixins": dict(profile.mixin_schemas), "version": self.version},
        }
        if profile.company_registration_id:
            view["b2b"] = {"companyRegistrationId": profile.company_registration_id}
        return view


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
