"""Customers: signing up, the mock API's customer list and creation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from credmock.core import exceptions as errors
from credmock.core.email_address import normalise_email
from credmock.core.models import Address, Customer, CustomerProfile
from credmock.core.passwords import hash_password
from credmock.core.seeding import CustomerSeed
from credmock.core.token_source import TokenSource
from credmock.domain.addresses import new_address_id
from credmock.domain.passwords import check_password_policy
from credmock.domain.tenants import TenantRule
from credmock.settings import Settings
from credmock.store import Store


def taken_error(taken: str, customer: Customer) -> errors.ApiError:
    """The error for a new customer whose ``"email"`` or ``"id"`` another customer has."""
    if taken == "email":
        return errors.DuplicateAccount(
            f"Duplicate account '{customer.email}' for tenant '{customer.tenant}'."
        )
    return errors.Conflict(f"A customer with id '{customer.id}' exists in tenant '{customer.tenant}'.")


@dataclass
class Customers:
    settings: Settings
    store: Store
    token_source: TokenSource
    tenant_rule: TenantRule

    def create_customer(
        self,
        tenant: str,
        email: str,
        password: str,
        *,
        first_name: str = "",
        last_name: str = "",
        contact_email: str | None = None,
        profile: CustomerProfile | None = None,
        initial_password: bool = False,
        active: bool = True,
    ) -> Customer:
        """A new customer; an inactive one (``active`` False) cannot log in until activated."""
        if contact_email is not None:
            contact_email = normalise_email(contact_email, "contact_email")
        return self._add_customer(
            CustomerSeed(
                tenant,
                email,
                password,
                first_name or "",
                last_name or "",
                contact_email,
                profile=profile or CustomerProfile(),
                initial_password=initial_password,
            ),
            active=active,
        )

    def signup(
        self, tenant: str, email: str, password: str, *, address: Address | None = None, **details: Any
    ) -> Customer:
        """A storefront signup creates a customer exactly as the mock API does (``details``: those
        of :meth:`create_customer`; the handler reads which of the body's emails is the login),
        with ``address`` as its first address, the default one."""
        if address is not None:
            profile = details.get("profile") or CustomerProfile()
            details["profile"] = dataclasses.replace(profile, addresses=[address])
        return self.create_customer(tenant, email, password, **details)

    def _with_address_ids(self, profile: CustomerProfile) -> CustomerProfile:
        """``profile`` with an id for each address without one (ten hex digits, as the real ones)
        and, when it has addresses, a default one: the first, unless one is marked."""
        if not profile.addresses:
            return profile
        addresses = [
            address if address.id else dataclasses.replace(address, id=new_address_id(self.token_source))
            for address in profile.addresses
        ]
        if not any(address.is_default for address in addresses):
            addresses[0] = dataclasses.replace(addresses[0], is_default=True)
        return dataclasses.replace(profile, addresses=addresses)

    def _add_customer(
        self, seed: CustomerSeed, *, check_policy: bool = True, active: bool = True
    ) -> Customer:
        while True:
            customer = self.build_customer(
                seed, lambda candidate: self.store.customer(seed.tenant, candidate) is not None, check_policy
            )
            if not active:
                customer = dataclasses.replace(customer, active=False)
            taken = self.store.add_customer(customer)
            if taken is None:
                return customer
            if taken == "email" or seed.id:
                raise taken_error(taken, customer)
            # a new id drawn by another process meanwhile: draw again

    def build_customer(
        self, seed: CustomerSeed, id_taken: Callable[[str], bool], check_policy: bool = True
    ) -> Customer:
        """The customer ``seed`` describes, its password hashed, its id (unless the seed has one)
        drawn until ``id_taken`` says it is free; nothing stored."""
        self.tenant_rule.validate(seed.tenant)
        email = normalise_email(seed.email, "email")
        if check_policy:
            check_password_policy(self.settings, seed.password, "password")
        profile = self._with_address_ids(seed.profile)
        return Customer(
            id=seed.id or self._new_customer_id(id_taken),
            tenant=seed.tenant,
            email=email,
            contact_email=seed.contact_email or email,
            password_hash=hash_password(seed.password, self.token_source.salt()),
            first_name=seed.first_name,
            last_name=seed.last_name,
            profile=profile,
            initial_password=seed.initial_password,
            legal_entities=list(seed.legal_entities),
        )

    def _new_customer_id(self, id_taken: Callable[[str], bool]) -> str:
        while True:
            candidate = self.token_source.digits(8).lstrip("0") or "0"
            if not id_taken(candidate):
                return candidate

    def list_customers(self, tenant: str) -> list[Customer]:
        self.tenant_rule.validate(tenant)
        return self.store.customers(tenant)

    def get_customer(self, tenant: str, customer_id: str) -> Customer:
        self.tenant_rule.validate(tenant)
        customer = self.store.customer(tenant, customer_id)
        if customer is None:
            raise errors.NotFound(f"Customer '{customer_id}' not found in tenant '{tenant}'.")
        return customer
