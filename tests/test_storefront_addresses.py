"""The logged-in customer's addresses, ``/customer/{tenant}/me/addresses``, one operation at a
time. Every response is checked against spec/storefront.yaml by the ``client`` fixture.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ALICE, BAD_AUTHORIZATIONS, INVALID_TOKEN_FAULT, ContractClient, bearer, error_body
from tests.conftest import error_fields as fields_of
from tests.test_storefront import anonymous_login, credentials, login, profile, signup

ADDRESSES = "/customer/demo/me/addresses"
HOME = {
    "contactName": "Alice Anders",
    "street": "Platz der Republik",
    "streetNumber": "1",
    "zipCode": "11011",
    "city": "Berlin",
    "country": "DE",
    "tags": ["SHIPPING"],
}
OFFICE = {"contactName": "Alice Anders", "companyName": "Acme", "city": "Hamburg", "tags": ["BILLING"]}


@pytest.fixture
def token(client: ContractClient) -> str:
    return login(client, **credentials(ALICE))["access_token"]


def add(client: ContractClient, token: str, address: dict[str, Any]) -> str:
    response = client.post(ADDRESSES, json=address, headers=bearer(token))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def addresses(client: ContractClient, token: str) -> list[dict[str, Any]]:
    response = client.get(ADDRESSES, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def address(client: ContractClient, token: str, address_id: str) -> httpx.Response:
    return client.get(f"{ADDRESSES}/{address_id}", headers=bearer(token))


def update(client: ContractClient, token: str, address_id: str, body: Any) -> httpx.Response:
    return client.patch(f"{ADDRESSES}/{address_id}", json=body, headers=bearer(token))


def tag(client: ContractClient, method: str, token: str, address_id: str, tags: str) -> httpx.Response:
    return client.request(
        method, f"{ADDRESSES}/{address_id}/tags", params={"tags": tags}, headers=bearer(token)
    )


# POST /me/addresses ----------------------------------------------------------------------------


def test_add_address_answers_its_id_and_the_first_is_the_default(client, token):
    home_id = add(client, token, HOME)
    office_id = add(client, token, OFFICE)
    home, office = addresses(client, token)
    assert (home["id"], home["isDefault"], office["id"], office["isDefault"]) == (
        home_id,
        True,
        office_id,
        False,
    )
    assert {field: home[field] for field in HOME} == HOME
    assert home["metadata"]["version"] == 1


def test_add_address_shows_in_the_expanded_profile(client, token):
    add(client, token, HOME)
    me = client.get("/customer/demo/me", params={"expand": "addresses"}, headers=bearer(token)).json()
    assert [entry["city"] for entry in me["addresses"]] == ["Berlin"]
    assert me["defaultAddress"]["city"] == "Berlin"


def test_add_address_after_signup_address_is_not_the_default(client):
    body = {"email": "sam@example.com", "password": "sam-pass-1", "customerAddress": {"contactName": "Sam"}}
    assert signup(client, body).status_code == 201
    token = login(client, "sam@example.com", "sam-pass-1")["access_token"]
    add(client, token, OFFICE)
    assert [entry["isDefault"] for entry in addresses(client, token)] == [True, False]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"city": "Berlin"}, "contactName"),
        ({**HOME, "country": "DEU"}, "country"),
        ({**HOME, "tags": "BILLING"}, "tags"),
    ],
    ids=["no-contact-name", "country-of-three-letters", "tags-not-a-list"],
)
def test_add_address_bad_field_is_400_naming_it(client, token, body, field):
    response = client.post(ADDRESSES, json=body, headers=bearer(token))
    assert field in fields_of(error_body(response, 400))
    assert addresses(client, token) == []


def test_add_address_without_profile_edit_scope_is_403(client):
    token = client.customer_token(scopes=["customer.customer_read_own"])
    assert error_body(client.post(ADDRESSES, json=HOME, headers=bearer(token)), 403)
    assert addresses(client, token) == []


def test_add_address_anonymous_token_is_403(client):
    response = client.post(ADDRESSES, json=HOME, headers=bearer(anonymous_login(client)["access_token"]))
    assert error_body(response, 403)["type"] == "forbidden"


@pytest.mark.parametrize("headers", BAD_AUTHORIZATIONS.values(), ids=BAD_AUTHORIZATIONS.keys())
def test_addresses_without_a_usable_token_are_401(client, headers):
    for response in (
        client.get(ADDRESSES, headers=headers),
        client.post(ADDRESSES, json=HOME, headers=headers),
    ):
        assert response.status_code == 401
        assert response.json() == INVALID_TOKEN_FAULT


# GET /me/addresses and /me/addresses/{addressId} -----------------------------------------------


def test_list_addresses_of_a_customer_without_one_is_empty(client, token):
    assert addresses(client, token) == []


def test_get_address_answers_the_address(client, token):
    office_id = add(client, token, OFFICE)
    response = address(client, token, office_id)
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["companyName"]) == (office_id, "Acme")


def test_get_address_unknown_id_is_404(client, token):
    error = error_body(address(client, token, "no-such-id"), 404)
    assert error["type"] == "resource_not_found"
    assert "no-such-id" in error["message"]


def test_addresses_of_another_customer_are_not_found(client, token):
    alice_home = add(client, token, HOME)
    bob = login(client, "bob@example.com", "bob-pass-2")["access_token"]
    assert addresses(client, bob) == []
    assert error_body(address(client, bob, alice_home), 404)
    assert error_body(client.delete(f"{ADDRESSES}/{alice_home}", headers=bearer(bob)), 404)
    assert len(addresses(client, token)) == 1


# PATCH /me/addresses/{addressId} ---------------------------------------------------------------


def test_update_address_changes_the_fields_given(client, token):
    home_id = add(client, token, HOME)
    response = update(client, token, home_id, {"street": "Unter den Linden", "streetNumber": None})
    assert response.status_code == 200, response.text
    home = address(client, token, home_id).json()
    assert (home["street"], home["city"], home["metadata"]["version"]) == ("Unter den Linden", "Berlin", 2)
    assert "streetNumber" not in home


def test_update_address_is_default_moves_the_default(client, token):
    home_id, office_id = add(client, token, HOME), add(client, token, OFFICE)
    assert update(client, token, office_id, {"isDefault": True}).status_code == 200
    defaults = {entry["id"]: entry["isDefault"] for entry in addresses(client, token)}
    assert defaults == {home_id: False, office_id: True}
    me = client.get("/customer/demo/me", params={"expand": "addresses"}, headers=bearer(token)).json()
    assert me["defaultAddress"]["id"] == office_id


def test_update_address_with_a_stale_version_is_400_stale_version(client, token):
    home_id = add(client, token, HOME)
    assert update(client, token, home_id, {"city": "Potsdam", "metadata": {"version": 1}}).status_code == 200
    error = error_body(update(client, token, home_id, {"city": "Bonn", "metadata": {"version": 1}}), 400)
    assert error["type"] == "stale_version"
    assert fields_of(error) == ["metadata.version"]
    assert address(client, token, home_id).json()["city"] == "Potsdam"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contactName": None}, "contactName"),
        ({"country": "DEU"}, "country"),
        ({"isDefault": "yes"}, "isDefault"),
    ],
    ids=["contact-name-removed", "country-of-three-letters", "is-default-not-a-boolean"],
)
def test_update_address_bad_field_is_400_naming_it(client, token, body, field):
    home_id = add(client, token, HOME)
    assert field in fields_of(error_body(update(client, token, home_id, body), 400))
    assert address(client, token, home_id).json()["metadata"]["version"] == 1


def test_update_address_unknown_id_is_404(client, token):
    assert error_body(update(client, token, "no-such-id", {"city": "Bonn"}), 404)


# DELETE /me/addresses/{addressId} --------------------------------------------------------------


def test_delete_address_removes_it(client, token):
    home_id, office_id = add(client, token, HOME), add(client, token, OFFICE)
    assert client.delete(f"{ADDRESSES}/{home_id}", headers=bearer(token)).status_code == 204
    assert [entry["id"] for entry in addresses(client, token)] == [office_id]
    assert error_body(address(client, token, home_id), 404)
    assert error_body(client.delete(f"{ADDRESSES}/{home_id}", headers=bearer(token)), 404)


# POST and DELETE /me/addresses/{addressId}/tags ------------------------------------------------


def test_address_tags_are_added_once_and_removed(client, token):
    home_id = add(client, token, HOME)
    assert tag(client, "POST", token, home_id, "BILLING, SHIPPING,DELIVERY").status_code == 204
    assert address(client, token, home_id).json()["tags"] == ["SHIPPING", "BILLING", "DELIVERY"]
    assert tag(client, "DELETE", token, home_id, "SHIPPING,UNKNOWN").status_code == 204
    assert address(client, token, home_id).json()["tags"] == ["BILLING", "DELIVERY"]


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_address_tags_of_an_unknown_address_are_404(client, token, method):
    assert error_body(tag(client, method, token, "no-such-id", "BILLING"), 404)


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_address_tags_naming_no_tag_are_400(client, token, method):
    home_id = add(client, token, HOME)
    assert fields_of(error_body(tag(client, method, token, home_id, " , "), 400)) == ["tags"]


# Addresses and the profile ---------------------------------------------------------------------


def test_address_changes_raise_the_profile_version(client, token):
    version = profile(client, token)["metadata"]["version"]
    home_id = add(client, token, HOME)
    tag(client, "POST", token, home_id, "BILLING")
    assert profile(client, token)["metadata"]["version"] == version + 2


@pytest.mark.parametrize("engine", ["async", "flask"])
def test_addresses_on_each_engine(client_with, engine):
    client = client_with(engine=engine)
    token = login(client, **credentials(ALICE))["access_token"]
    home_id = add(client, token, HOME)
    assert update(client, token, home_id, {"city": "Potsdam"}).status_code == 200
    assert [entry["city"] for entry in addresses(client, token)] == ["Potsdam"]
