"""The mock's state: customers, access tokens and one-time email tokens, kept per tenant."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from credmock.core import exceptions as errors
from credmock.core.clock import iso_time

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


# What a customer prefers when they named nothing (the reference's defaults, shown by /me).
DEFAULT_SITE = "main"
DEFAULT_LANGUAGE = "en_US"
DEFAULT_CURRENCY = "USD"
# Business models of the reference's profile: a customer of a legal entity, or a consumer.
B2B = "B2B"
B2C = "B2C"
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
# The customer's own fields of ``customerDetails``: wire name -> attribute of :class:`Customer`.
CUSTOMER_NAME_FIELDS = {"firstName": "first_name", "lastName": "last_name", "contactEmail": "contact_email"}
# Every ``customerDetails`` field a profile keeps (names and contact email live on the customer).
PROFILE_FIELDS = (*PROFILE_TEXT_FIELDS, "b2b", "mixins", "metadata")
# Text fields of the reference's ``Address``: wire name -> attribute.
ADDRESS_TEXT_FIELDS = {
    "contactName": "contact_name",
    "companyName": "company_name",
    "street": "street",
    "streetNumber": "street_number",
    "streetAppendix": "street_appendix",
    "extraLine1": "extra_line1",
    "extraLine2": "extra_line2",
    "extraLine3": "extra_line3",
    "extraLine4": "extra_line4",
    "zipCode": "zip_code",
    "city": "city",
    "country": "country",
    "state": "state",
    "contactPhone": "contact_phone",
}
# Every field of an address as it is given (``id`` and ``isDefault`` are the mock's to set).
ADDRESS_FIELDS = (*ADDRESS_TEXT_FIELDS, "tags", "mixins", "metadata")


def _field_problem(name: str, expected: str) -> errors.ValidationFailed:
    return errors.ValidationFailed.for_field(name, "invalid_type", f"'{name}' must be {expected}.")


def _mapping(value: Any, name: str) -> dict[str, Any]:
    """An optional object field: {} when absent, else a copy of it; a 400 naming it otherwise."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _field_problem(name, "an object")
    return dict(value)


def _texts(given: Mapping[str, Any], fields: Mapping[str, str], prefix: str) -> dict[str, str | None]:
    """Attribute -> value of the optional text ``fields`` of ``given``; a 400 naming a non-string."""
    texts: dict[str, str | None] = {}
    for wire, attribute in fields.items():
        value = given.get(wire)
        if value is not None and not isinstance(value, str):
            raise _field_problem(prefix + wire, "a string")
        texts[attribute] = value
    return texts


@dataclass
class Address:
    """One of a customer's addresses (the reference's ``Address``). Plain data, as the profile."""

    contact_name: str
    id: str = ""
    company_name: str | None = None
    street: str | None = None
    street_number: str | None = None
    street_appendix: str | None = None
    extra_line1: str | None = None
    extra_line2: str | None = None
    extra_line3: str | None = None
    extra_line4: str | None = None
    zip_code: str | None = None
    city: str | None = None
    country: str | None = None
    state: str | None = None
    contact_phone: str | None = None
    is_default: bool = False
    tags: list[str] = field(default_factory=list)
    mixins: dict[str, Any] = field(default_factory=dict)
    # metadata.mixins: mixin name -> the URL of its schema.
    mixin_schemas: dict[str, Any] = field(default_factory=dict)
    # metadata.version: 1 when added.
    version: int = 1

    @classmethod
    def from_wire(cls, given: Any, prefix: str = "") -> Address:
        """The address of a request's address object (signup's ``customerAddress``), without an
        id yet; a 400 naming ``prefix`` + the field for a missing ``contactName``, a field of the
        wrong type or a ``country`` that is not a two-letter code."""
        name = prefix.rstrip(".") or "address"
        if not isinstance(given, Mapping):
            raise _field_problem(name, "an object")
        texts = _texts(given, ADDRESS_TEXT_FIELDS, prefix)
        if not texts["contact_name"]:
            field_name = f"{prefix}contactName"
            raise errors.ValidationFailed.for_field(
                field_name, "missing_value", f"'{field_name}' is required."
            )
        country = texts["country"]
        if country is not None and len(country) != 2:
            raise errors.ValidationFailed.for_field(
                f"{prefix}country", "invalid_format", f"'{prefix}country' must be a two-letter country code."
            )
        tags = given.get("tags")
        if tags is None:
            tags = []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise _field_problem(f"{prefix}tags", "an array of strings")
        metadata = _mapping(given.get("metadata"), f"{prefix}metadata")
        return cls(
            **texts,  # type: ignore[arg-type]  # contact_name is checked above
            tags=list(tags),
            mixins=_mapping(given.get("mixins"), f"{prefix}mixins"),
            mixin_schemas=_mapping(metadata.get("mixins"), f"{prefix}metadata.mixins"),
        )

    def details(self) -> dict[str, Any]:
        """The address as given (no id, no default flag, no version): what :meth:`from_wire`
        reads back."""
        texts = {wire: getattr(self, attribute) for wire, attribute in ADDRESS_TEXT_FIELDS.items()}
        return {
            **{wire: value for wire, value in texts.items() if value is not None},
            "tags": list(self.tags),
            "mixins": copy.deepcopy(self.mixins),
            "metadata": {"mixins": copy.deepcopy(self.mixin_schemas)},
        }

    def view(self) -> dict[str, Any]:
        """The address as ``/me?expand=addresses`` and ``/me/addresses`` show it."""
        texts = {wire: getattr(self, attribute) for wire, attribute in ADDRESS_TEXT_FIELDS.items()}
        return {
            "id": self.id,
            **{wire: value for wire, value in texts.items() if value is not None},
            "isDefault": self.is_default,
            "tags": list(self.tags),
            "mixins": dict(self.mixins),
            "metadata": {"mixins": dict(self.mixin_schemas), "version": self.version},
        }


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
    # The customer's addresses, in the order they were added (signup's ``customerAddress`` first).
    addresses: list[Address] = field(default_factory=list)

    @classmethod
    def from_details(cls, details: Mapping[str, Any], prefix: str = "") -> CustomerProfile:
        """The profile of a ``customerDetails`` mapping (signup body, fixtures entry, a patched
        profile); a field of the wrong type is a 400 naming ``prefix`` + the field."""
        texts = _texts(details, PROFILE_TEXT_FIELDS, prefix)
        currency = texts["preferred_currency"]
        if currency is not None and len(currency) != 3:
            raise errors.ValidationFailed.for_field(
                f"{prefix}preferredCurrency",
                "invalid_format",
                f"'{prefix}preferredCurrency' must be a three-letter ISO 4217 code.",
            )
        b2b = _mapping(details.get("b2b"), f"{prefix}b2b")
        registration = b2b.get("companyRegistrationId")
        if registration is not None and not isinstance(registration, str):
            raise _field_problem(f"{prefix}b2b.companyRegistrationId", "a string")
        metadata = _mapping(details.get("metadata"), f"{prefix}metadata")
        return cls(
            **texts,
            company_registration_id=registration or None,
            mixins=_mapping(details.get("mixins"), f"{prefix}mixins"),
            mixin_schemas=_mapping(metadata.get("mixins"), f"{prefix}metadata.mixins"),
        )

    def details(self) -> dict[str, Any]:
        """The profile as a ``customerDetails`` mapping: what :meth:`from_details` reads back."""
        texts = {wire: getattr(self, attribute) for wire, attribute in PROFILE_TEXT_FIELDS.items()}
        details: dict[str, Any] = {wire: value for wire, value in texts.items() if value is not None}
        if self.company_registration_id:
            details["b2b"] = {"companyRegistrationId": self.company_registration_id}
        details["mixins"] = copy.deepcopy(self.mixins)
        details["metadata"] = {"mixins": copy.deepcopy(self.mixin_schemas)}
        return details

    @property
    def default_address(self) -> Address | None:
        return next((address for address in self.addresses if address.is_default), None)


@dataclass(frozen=True)
class LegalEntity:
    """A company a customer acts for (the reference's ``b2b.legalEntities`` entry). Assigned by
    the fixtures; a customer with one is a ``B2B`` customer."""

    id: str
    name: str = ""
    # The id of the customer's contact assignment to the entity.
    contact_assignment_id: str = ""

    def view(self) -> dict[str, str]:
        given = {"name": self.name, "contactAssignmentId": self.contact_assignment_id}
        return {"id": self.id, **{wire: value for wire, value in given.items() if value}}


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
    # False from a double opt-in signup until the emailed link activates the account.
    active: bool = True
    # The legal entities the customer belongs to (fixtures ``legalEntities``).
    legal_entities: list[LegalEntity] = field(default_factory=list)
    # When the customer last logged in (seconds since the epoch); None before the first login.
    last_login: float | None = None

    def legal_entity(self, legal_entity_id: str) -> LegalEntity | None:
        return next((entity for entity in self.legal_entities if entity.id == legal_entity_id), None)

    @property
    def business_model(self) -> str:
        """``B2B`` for a customer of a legal entity, else ``B2C``."""
        return B2B if self.legal_entities else B2C

    def public_view(self) -> dict[str, str]:
        """What the mock API shows of a customer: never the password hash."""
        return {
            "id": self.id,
            "email": self.email,
            "contactEmail": self.contact_email,
            "firstName": self.first_name,
            "lastName": self.last_name,
        }

    def details(self) -> dict[str, Any]:
        """What the customer may edit of their profile, as the reference's ``CustomerPatchDto``
        mapping: names, contact email and :meth:`CustomerProfile.details`."""
        names = {"firstName": self.first_name, "lastName": self.last_name}
        return {
            **{wire: value for wire, value in names.items() if value},
            "contactEmail": self.contact_email,
            **self.profile.details(),
        }

    def with_details(self, details: Mapping[str, Any]) -> Customer:
        """This customer with the names, contact email and profile of ``details`` (the mapping
        :meth:`details` gives, edited); addresses, login and version are kept. A 400 names a
        field of the wrong type; an absent name is empty, an absent contact email too."""
        names = _texts(details, CUSTOMER_NAME_FIELDS, "")
        profile = dataclasses.replace(CustomerProfile.from_details(details), addresses=self.profile.addresses)
        return dataclasses.replace(
            self,
            first_name=names["first_name"] or "",
            last_name=names["last_name"] or "",
            contact_email=names["contact_email"] or "",
            profile=profile,
        )

    def profile_view(self, *, addresses: bool = False) -> dict[str, Any]:
        """The profile ``GET /customer/{tenant}/me`` shows: the login email is the account id.
        With ``addresses`` (``expand=addresses``), the addresses and the default one too."""
        profile = self.profile
        texts = {wire: getattr(profile, attribute) for wire, attribute in PROFILE_TEXT_FIELDS.items()}
        texts["preferredLanguage"] = profile.preferred_language or DEFAULT_LANGUAGE
        texts["preferredCurrency"] = profile.preferred_currency or DEFAULT_CURRENCY
        texts["preferredSite"] = profile.preferred_site or DEFAULT_SITE
        view: dict[str, Any] = {
            "id": self.id,
            "customerNumber": self.id,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "contactEmail": self.contact_email,
            **{wire: value for wire, value in texts.items() if value is not None},
            **({} if self.last_login is None else {"lastLogin": iso_time(self.last_login)}),
            "accounts": [{"id": self.email}],
            "businessModel": self.business_model,
            "mixins": dict(profile.mixins),
            "metadata": {"mixins": dict(profile.mixin_schemas), "version": self.version},
        }
        b2b: dict[str, Any] = {}
        if profile.company_registration_id:
            b2b["companyRegistrationId"] = profile.company_registration_id
        if self.legal_entities:
            b2b["legalEntities"] = [entity.view() for entity in self.legal_entities]
        if b2b:
            view["b2b"] = b2b
        if addresses:
            view["addresses"] = [address.view() for address in profile.addresses]
            default = profile.default_address
            if default is not None:
                view["defaultAddress"] = default.view()
        return view


@dataclass(frozen=True)
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
    # The legal entity the customer acts for in this session (refreshauthtoken's legalEntityId).
    legal_entity_id: str | None = None

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
