"""The logged-in customer's addresses (``/customer/{tenant}/me/addresses``): add, list, read,
update, delete, tag. They are part of the profile: each change is one compare-and-set of it
(:meth:`Store.replace_profile`), so the profile's version counts address changes too."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from credmock.core import exceptions as errors
from credmock.core.models import AccessToken, Address, Customer
from credmock.core.token_source import TokenSource
from credmock.domain.profile import merge_patch
from credmock.domain.sessions import customer_of, require_profile_edit_scope
from credmock.store import Store

T = TypeVar("T")

ADDRESS_ID_LENGTH = 10


def new_address_id(token_source: TokenSource) -> str:
    """A new address id: ten hex digits, as the real ones."""
    return token_source.uuid().replace("-", "")[:ADDRESS_ID_LENGTH]


def _address_of(customer: Customer, address_id: str) -> Address:
    for address in customer.profile.addresses:
        if address.id == address_id:
            return address
    raise errors.NotFound(f"Address {address_id} of customer {customer.id} not found.")


def _replaced(addresses: list[Address], changed: Address) -> list[Address]:
    """``addresses`` with ``changed`` in the place of the one of its id; the only default when it is one."""
    replaced = []
    for address in addresses:
        if address.id == changed.id:
            address = changed
        elif changed.is_default and address.is_default:
            address = dataclasses.replace(address, is_default=False)
        replaced.append(address)
    return replaced


def _next_version(before: Address, after: Address) -> Address:
    """``after``, one version on from ``before`` when it differs from it."""
    return after if after == before else dataclasses.replace(after, version=before.version + 1)


@dataclass
class Addresses:
    store: Store
    token_source: TokenSource

    def _change_addresses(
        self, access_token: AccessToken, change: Callable[[Customer], tuple[list[Address], T]]
    ) -> T:
        """Apply ``change`` (customer -> their new addresses, and what to answer) to the token's
        customer, again on what another request left if one changed the profile meanwhile. Needs
        the profile edit scope (403)."""
        require_profile_edit_scope(access_token)
        while True:
            customer = customer_of(self.store, access_token)
            addresses, answer = change(customer)
            if addresses == customer.profile.addresses:
                return answer
            profile = dataclasses.replace(customer.profile, addresses=addresses)
            if self.store.replace_profile(
                dataclasses.replace(customer, profile=profile), version=customer.version
            ):
                return answer

    def add_address(self, access_token: AccessToken, address: Address) -> Address:
        """A new address, with a new id; the customer's first one is the default."""

        def add(customer: Customer) -> tuple[list[Address], Address]:
            existing = customer.profile.addresses
            added = dataclasses.replace(
                address,
                id=new_address_id(self.token_source),
                is_default=not existing,
                version=1,
            )
            return [*existing, added], added

        return self._change_addresses(access_token, add)

    def list_addresses(self, access_token: AccessToken) -> list[Address]:
        return list(customer_of(self.store, access_token).profile.addresses)

    def get_address(self, access_token: AccessToken, address_id: str) -> Address:
        """The address of this id (404 when the customer has none)."""
        return _address_of(customer_of(self.store, access_token), address_id)

    def update_address(
        self,
        access_token: AccessToken,
        address_id: str,
        changes: Mapping[str, Any],
        *,
        is_default: bool | None = None,
        version: int | None = None,
    ) -> Address:
        """The address with ``changes`` applied (a JSON merge patch of :meth:`Address.details`:
        a field set to null is removed; ``contactName`` stays required). ``is_default`` true makes
        it the default (the others no longer are). With ``version``, the address must still be at
        that version (400 otherwise)."""

        def update(customer: Customer) -> tuple[list[Address], Address]:
            before = _address_of(customer, address_id)
            if version is not None and version != before.version:
                message = f"The address is at version {before.version}, not {version}: read it again."
                raise errors.StaleVersion(message, [errors.FieldProblem("version", "stale_value", message)])
            after = dataclasses.replace(
                Address.from_wire(merge_patch(before.details(), changes)),
                id=before.id,
                is_default=before.is_default if is_default is None else is_default,
                version=before.version,
            )
            after = _next_version(before, after)
            return _replaced(customer.profile.addresses, after), after

        return self._change_addresses(access_token, update)

    def save_address(
        self,
        access_token: AccessToken,
        address_id: str,
        changes: Mapping[str, Any],
        *,
        is_default: bool | None = None,
        version: int | None = None,
    ) -> Address:
        """What the Emporix SDK's address save (``PUT``) does: :meth:`update_address`, the same
        rules and answers."""
        return self.update_address(access_token, address_id, changes, is_default=is_default, version=version)

    def delete_address(self, access_token: AccessToken, address_id: str) -> None:
        """The address is gone (404 when the customer has none of this id)."""

        def delete(customer: Customer) -> tuple[list[Address], None]:
            _address_of(customer, address_id)
            return [address for address in customer.profile.addresses if address.id != address_id], None

        self._change_addresses(access_token, delete)

    def add_address_tags(self, access_token: AccessToken, address_id: str, tags: Iterable[str]) -> None:
        """The address has ``tags`` too (those it had stay, each tag once)."""
        added = list(tags)
        self._retag(
            access_token, address_id, lambda current: [*current, *(t for t in added if t not in current)]
        )

    def remove_address_tags(self, access_token: AccessToken, address_id: str, tags: Iterable[str]) -> None:
        """The address no longer has ``tags`` (a tag it does not have is ignored)."""
        removed = set(tags)
        self._retag(access_token, address_id, lambda current: [t for t in current if t not in removed])

    def _retag(
        self, access_token: AccessToken, address_id: str, retag: Callable[[list[str]], list[str]]
    ) -> None:
        def change(customer: Customer) -> tuple[list[Address], None]:
            before = _address_of(customer, address_id)
            after = _next_version(before, dataclasses.replace(before, tags=retag(list(before.tags))))
            return _replaced(customer.profile.addresses, after), None

        self._change_addresses(access_token, change)
