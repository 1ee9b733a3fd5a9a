"""The logged-in customer's profile: updating it (``PATCH /customer/{tenant}/me``), and the rule
a company customer's profile keeps, at signup and on each update."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from credmock.core import exceptions as errors
from credmock.core.email_address import normalise_email
from credmock.core.models import AccessToken, Customer, CustomerProfile
from credmock.domain.sessions import customer_of, require_profile_edit_scope
from credmock.store import Store


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with the JSON merge patch ``patch`` applied (RFC 7396): an object's members
    are merged one by one, a member set to null is removed, anything else replaces."""
    if not isinstance(patch, Mapping):
        return patch
    merged = dict(target) if isinstance(target, Mapping) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged


def check_company_details(first_name: str, last_name: str, profile: CustomerProfile) -> None:
    """A company registration id needs the first name, last name and company: a 400 naming
    each one missing (``first_name``, ``last_name``, ``company``)."""
    if not profile.company_registration_id:
        return
    given = {"first_name": first_name, "last_name": last_name, "company": profile.company}
    missing = [name for name, value in given.items() if not value]
    if missing:
        message = "A company registration id needs " + ", ".join(f"'{name}'" for name in missing) + "."
        raise errors.ValidationFailed(
            message, [errors.FieldProblem(name, "missing_value", message) for name in missing]
        )


def _company_fields(customer: Customer) -> tuple[Any, ...]:
    return (
        customer.profile.company_registration_id,
        customer.first_name,
        customer.last_name,
        customer.profile.company,
    )


@dataclass
class Profiles:
    store: Store

    def update_profile(
        self, access_token: AccessToken, changes: Mapping[str, Any], *, version: int | None = None
    ) -> Customer:
        """The token's customer with ``changes`` applied: a JSON merge patch of
        :meth:`Customer.details` (a field given is set, one set to null removed, ``mixins``
        merged key by key). With ``version``, the profile must still be at that version (400
        otherwise: it changed since the client read it). Needs the profile edit scope (403).

        The login email is not part of the profile: it changes only by the emailed confirmation.
        The contact email can be changed, never removed. A company customer keeps its names and
        company. A change that changes nothing leaves the version where it is."""
        require_profile_edit_scope(access_token)
        while True:
            customer = customer_of(self.store, access_token)
            if version is not None and version != customer.version:
                message = (
                    f"The profile is at version {customer.version}, not {version}: "
                    "it changed meanwhile; read it again."
                )
                raise errors.StaleVersion(message, [errors.FieldProblem("version", "stale_value", message)])
            updated = self._checked(customer, customer.with_details(merge_patch(customer.details(), changes)))
            if updated == customer:
                return customer
            if self.store.replace_profile(updated, version=customer.version):
                return dataclasses.replace(updated, version=customer.version + 1)
            # Changed by another request meanwhile: apply the changes to what it left.

    def save_profile(
        self, access_token: AccessToken, changes: Mapping[str, Any], *, version: int | None = None
    ) -> Customer:
        """What the Emporix SDK's profile save (``PUT``) does: :meth:`update_profile`, the same
        rules and answers."""
        return self.update_profile(access_token, changes, version=version)

    @staticmethod
    def _checked(customer: Customer, updated: Customer) -> Customer:
        """``updated``, with its contact email normalised, when it keeps the profile's rules."""
        if not updated.contact_email:
            raise errors.ValidationFailed.for_field(
                "contact_email", "missing_value", "'contact_email' cannot be removed once it is set."
            )
        if updated.contact_email != customer.contact_email:
            updated = dataclasses.replace(
                updated, contact_email=normalise_email(updated.contact_email, "contact_email")
            )
        if _company_fields(updated) != _company_fields(customer):
            check_company_details(updated.first_name, updated.last_name, updated.profile)
        return updated
