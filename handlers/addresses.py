"""The logged-in customer's addresses (spec/storefront.yaml, ``/customer/{tenant}/me/addresses``):
read the request, call the rule of the same name, answer with the real service's field names."""

from __future__ import annotations

from typing import Any

from credmock.handlers.fields import boolean, wire_names

from credmock.core import exceptions as errors
from credmock.core.models import Address
from credmock.domain import Domain

NO_CONTENT = (None, 204)
OK_WITHOUT_BODY = (None, 200)  # the reference's answer to an update
# The fields the domain's errors name in an address update, by their wire names.
ADDRESS_UPDATE_FIELDS = {"metadata.version": "version"}
Body = dict[str, Any]
TokenInfo = dict[str, Any]


def without_version(body: Body | None) -> tuple[Body, int | None]:
    """The changes of an update body, and the ``metadata.version`` it is based on, if any."""
    changes = dict(body or {})
    metadata = changes.get("metadata")
    if not isinstance(metadata, dict) or "version" not in metadata:
        return changes, None
    changes["metadata"] = {name: value for name, value in metadata.items() if name != "version"}
    return changes, metadata["version"]


def address_changes(body: Body | None) -> tuple[Body, int | None, bool | None]:
    """The changes of an address update body, the version it is based on, and ``isDefault``."""
    changes, version = without_version(body)
    given_default = changes.pop("isDefault", None)
    return changes, version, None if given_default is None else boolean(given_default, "isDefault")


def tag_list(tags: str) -> list[str]:
    """The tags of a ``tags=BILLING,SHIPPING`` parameter, or a 400 naming it when there are none."""
    listed = [tag.strip() for tag in tags.split(",") if tag.strip()]
    if not listed:
        raise errors.ValidationFailed.for_field("tags", "missing_value", "'tags' names no tag.")
    return listed


def add_address(domain: Domain, tenant: str, token_info: TokenInfo, body: Body) -> tuple[Body, int]:
    """POST /customer/{tenant}/me/addresses: a new address; the first one is the default."""
    added = domain.add_address(token_info["access_token"], Address.from_wire(body))
    return {"id": added.id}, 201


def list_addresses(domain: Domain, tenant: str, token_info: TokenInfo) -> tuple[list[Body], int]:
    """GET /customer/{tenant}/me/addresses."""
    return [address.view() for address in domain.list_addresses(token_info["access_token"])], 200


def get_address(domain: Domain, tenant: str, addressId: str, token_info: TokenInfo) -> tuple[Body, int]:
    """GET /customer/{tenant}/me/addresses/{addressId}."""
    return domain.get_address(token_info["access_token"], addressId).view(), 200


def update_address(
    domain: Domain, tenant: str, addressId: str, token_info: TokenInfo, body: Body | None = None
) -> tuple[None, int]:
    """PATCH /customer/{tenant}/me/addresses/{addressId}: the fields given change (null removes
    one); ``isDefault: true`` makes it the default; ``metadata.version`` is checked when given."""
    changes, version, is_default = address_changes(body)
    with wire_names(**ADDRESS_UPDATE_FIELDS):
        domain.update_address(
            token_info["access_token"], addressId, changes, is_default=is_default, version=version
        )
    return OK_WITHOUT_BODY


def save_address(
    domain: Domain, tenant: str, addressId: str, token_info: TokenInfo, body: Body | None = None
) -> tuple[None, int]:
    """PUT /customer/{tenant}/me/addresses/{addressId}, as the Emporix SDK saves an address
    (beyond the reference): the fields sent change, with the rules and answers of PATCH."""
    changes, version, is_default = address_changes(body)
    with wire_names(**ADDRESS_UPDATE_FIELDS):
        domain.save_address(
            token_info["access_token"], addressId, changes, is_default=is_default, version=version
        )
    return OK_WITHOUT_BODY


def delete_address(domain: Domain, tenant: str, addressId: str, token_info: TokenInfo) -> tuple[None, int]:
    """DELETE /customer/{tenant}/me/addresses/{addressId}."""
    domain.delete_address(token_info["access_token"], addressId)
    return NO_CONTENT


def add_address_tags(
    domain: Domain, tenant: str, addressId: str, tags: str, token_info: TokenInfo
) -> tuple[None, int]:
    """POST /customer/{tenant}/me/addresses/{addressId}/tags?tags=BILLING,SHIPPING."""
    domain.add_address_tags(token_info["access_token"], addressId, tag_list(tags))
    return NO_CONTENT


def remove_address_tags(
    domain: Domain, tenant: str, addressId: str, tags: str, token_info: TokenInfo
) -> tuple[None, int]:
    """DELETE /customer/{tenant}/me/addresses/{addressId}/tags?tags=BILLING."""
    domain.remove_address_tags(token_info["access_token"], addressId, tag_list(tags))
    return NO_CONTENT


OPERATIONS = {
    "POST-customer-add-address": add_address,
    "GET-customer-list-customer-addresses": list_addresses,
    "GET-customer-retrieve-address-by-id": get_address,
    "PATCH-customer-update-customer-address": update_address,
    "PUT-customer-save-customer-address": save_address,
    "DELETE-customer-remove-customer-address-by-id": delete_address,
    "POST-customer-add-address-tags": add_address_tags,
    "DELETE-customer-remove-address-tags": remove_address_tags,
}
