"""What the Emporix TypeScript SDK sends for its customer functions, sent exactly so (method, path,
query, headers, body), and each answer checked against Emporix's reference schema as well as
credmock's specs (the ``client`` fixture): profile and address saves by ``PUT``, a login that
keeps the anonymous session, ``lastLogin`` and the profile's defaults, legal-entity scoped
tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ALICE, ContractClient
from tests.reference import reference_checker

TENANT = "shop"
CLOCK_START = 1_767_258_000  # 2026-01-01T09:00:00Z
FIXTURES = """
tenants:
  shop:
    customers:
      - id: "30000001"
        email: erin@shop.test
        password: erin-pass-1
        firstName: Erin
        lastName: Eck
        company: Eck Tools
        legalEntities:
          - {id: le-eck-de, name: Eck Tools GmbH, contactAssignmentId: ca-7}
          - {id: le-eck-at, name: Eck Tools Austria}
      - id: "30000002"
        email: finn@shop.test
        password: finn-pass-2
        firstName: Finn
        lastName: Falk
"""
ERIN = {"email": "erin@shop.test", "password": "erin-pass-1"}
FINN = {"email": "finn@shop.test", "password": "finn-pass-2"}


def sdk_headers(token: str, *, body: bool = False) -> dict[str, str]:
    """The SDK's headers: the bearer token, JSON accepted, and JSON sent when there is a body."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if body:
        headers["Content-Type"] = "application/json"
    return headers


def conforms_to_reference(response: httpx.Response) -> httpx.Response:
    checker = reference_checker()
    if checker is None:
        pytest.skip("Emporix's reference document is not on this machine (see tests/reference.py)")
    violations = checker.check_httpx(response)
    assert not violations, f"{response.request.method} {response.request.url}: {violations}"
    return response


@pytest.fixture
def shop(client_with, tmp_path: Path) -> ContractClient:
    fixtures = tmp_path / "customers.yaml"
    fixtures.write_text(FIXTURES, encoding="utf-8")
    return client_with(fixtures_path=fixtures, clock_start=CLOCK_START)


def anonymous_session(client: ContractClient) -> dict[str, Any]:
    """``auth.anonymousLogin``: GET the anonymous token, tenant and client id in the query."""
    response = client.get(
        "/customerlogin/auth/anonymous/login",
        params={"tenant": TENANT, "client_id": "storefront-key"},
        headers={"Accept": "application/json"},
    )
    assert conforms_to_reference(response).status_code == 200
    return response.json()


def sdk_login(client: ContractClient, anonymous: str, credentials: dict[str, str]) -> httpx.Response:
    """``auth.login``: POST the credentials, authorized with the anonymous token."""
    return client.post(
        f"/customer/{TENANT}/login", json=credentials, headers=sdk_headers(anonymous, body=True)
    )


def me(client: ContractClient, token: str) -> dict[str, Any]:
    response = client.get(f"/customer/{TENANT}/me", headers=sdk_headers(token))
    assert conforms_to_reference(response).status_code == 200
    return response.json()


# auth.login: the session goes on --------------------------------------------------------------


def test_sdk_login_with_the_anonymous_token_continues_its_session(shop):
    anonymous = anonymous_session(shop)
    response = conforms_to_reference(sdk_login(shop, anonymous["access_token"], FINN))
    assert response.status_code == 200
    assert response.json()["session_id"] == anonymous["sessionId"]
    validated = shop.get(
        f"/customer/{TENANT}/validateauthtoken", headers=sdk_headers(response.json()["access_token"])
    )
    assert conforms_to_reference(validated).json()["sessionId"] == anonymous["sessionId"]


def test_sdk_login_sets_last_login_and_me_shows_the_reference_defaults(shop):
    anonymous = anonymous_session(shop)["access_token"]
    shop.advance_clock(60)
    token = sdk_login(shop, anonymous, FINN).json()["access_token"]
    profile = me(shop, token)
    assert profile["lastLogin"] == "2026-01-01T09:01:00.000Z"
    assert (profile["preferredLanguage"], profile["preferredCurrency"], profile["preferredSite"]) == (
        "en_US",
        "USD",
        "main",
    )
    assert profile["businessModel"] == "B2C" and "b2b" not in profile


def test_last_login_moves_with_each_login_and_leaves_the_version(shop):
    first = sdk_login(shop, anonymous_session(shop)["access_token"], FINN).json()["access_token"]
    before = me(shop, first)
    shop.advance_clock(3600)
    sdk_login(shop, anonymous_session(shop)["access_token"], FINN)
    after = me(shop, first)
    assert (before["lastLogin"], after["lastLogin"]) == (
        "2026-01-01T09:00:00.000Z",
        "2026-01-01T10:00:00.000Z",
    )
    assert after["metadata"]["version"] == before["metadata"]["version"]


def test_anonymous_profile_shows_the_reference_defaults(shop):
    profile = me(shop, anonymous_session(shop)["access_token"])
    assert (profile["preferredLanguage"], profile["preferredCurrency"]) == ("en_US", "USD")


# customers.update and addresses.update: PUT ---------------------------------------------------


def test_sdk_customers_update_puts_the_fields_to_change(shop):
    token = sdk_login(shop, anonymous_session(shop)["access_token"], FINN).json()["access_token"]
    body = {"firstName": "Finnian", "preferredLanguage": "de_DE", "mixins": {"newsletter": {"opted": True}}}
    response = shop.put(f"/customer/{TENANT}/me", json=body, headers=sdk_headers(token, body=True))
    assert (response.status_code, response.content) == (200, b"")
    assert "content-type" not in response.headers
    profile = me(shop, token)
    assert (profile["firstName"], profile["lastName"], profile["preferredLanguage"]) == (
        "Finnian",
        "Falk",
        "de_DE",
    )
    assert profile["mixins"] == {"newsletter": {"opted": True}}
    assert profile["metadata"]["version"] == 2


def test_sdk_customers_update_answers_as_patch_does(shop):
    token = sdk_login(shop, anonymous_session(shop)["access_token"], FINN).json()["access_token"]
    for method in ("PUT", "PATCH"):
        stale = shop.request(
            method,
            f"/customer/{TENANT}/me",
            json={"lastName": "Other", "metadata": {"version": 99}},
            headers=sdk_headers(token, body=True),
        )
        assert (stale.status_code, stale.json()["type"]) == (400, "stale_version"), method
        removed = shop.request(
            method,
            f"/customer/{TENANT}/me",
            json={"contactEmail": None},
            headers=sdk_headers(token, body=True),
        )
        assert [d["field"] for d in removed.json()["details"]] == ["contactEmail"], method
    anonymous = anonymous_session(shop)["access_token"]
    refused = shop.put(
        f"/customer/{TENANT}/me", json={"firstName": "X"}, headers=sdk_headers(anonymous, body=True)
    )
    assert (refused.status_code, refused.json()["type"]) == (403, "forbidden")
    assert me(shop, token)["lastName"] == "Falk"


def test_sdk_addresses_update_puts_the_fields_to_change(shop):
    token = sdk_login(shop, anonymous_session(shop)["access_token"], FINN).json()["access_token"]
    added = shop.post(
        f"/customer/{TENANT}/me/addresses",
        json={"contactName": "Finn Falk", "street": "Hafenstrasse", "city": "Kiel", "country": "DE"},
        headers=sdk_headers(token, body=True),
    )
    assert conforms_to_reference(added).status_code == 201
    address_id = added.json()["id"]
    path = f"/customer/{TENANT}/me/addresses/{address_id}"
    response = shop.put(
        path, json={"city": "Lübeck", "zipCode": "23552"}, headers=sdk_headers(token, body=True)
    )
    assert (response.status_code, response.content) == (200, b"")
    assert "content-type" not in response.headers
    address = conforms_to_reference(shop.get(path, headers=sdk_headers(token))).json()
    assert (address["city"], address["zipCode"], address["street"]) == ("Lübeck", "23552", "Hafenstrasse")
    assert address["metadata"]["version"] == 2
    unknown = shop.put(
        f"/customer/{TENANT}/me/addresses/0000000000",
        json={"city": "X"},
        headers=sdk_headers(token, body=True),
    )
    assert (unknown.status_code, unknown.json()["type"]) == (404, "resource_not_found")


# Legal entities ---------------------------------------------------------------------------------


def erin_session(client: ContractClient) -> dict[str, Any]:
    response = sdk_login(client, anonymous_session(client)["access_token"], ERIN)
    assert conforms_to_reference(response).status_code == 200
    return response.json()


def test_me_shows_the_legal_entities_and_the_b2b_business_model(shop):
    profile = me(shop, erin_session(shop)["access_token"])
    assert profile["businessModel"] == "B2B"
    assert profile["b2b"]["legalEntities"] == [
        {"id": "le-eck-de", "name": "Eck Tools GmbH", "contactAssignmentId": "ca-7"},
        {"id": "le-eck-at", "name": "Eck Tools Austria"},
    ]


def test_sdk_refresh_with_a_legal_entity_scopes_the_token_and_validate_returns_it(shop):
    session = erin_session(shop)
    anonymous = anonymous_session(shop)["access_token"]
    refreshed = shop.get(
        f"/customer/{TENANT}/refreshauthtoken",
        params={"refreshToken": session["refresh_token"], "legalEntityId": "le-eck-at"},
        headers=sdk_headers(anonymous),
    )
    assert conforms_to_reference(refreshed).status_code == 200
    assert refreshed.json()["session_id"] == session["session_id"]
    token = refreshed.json()["access_token"]
    validated = shop.get(f"/customer/{TENANT}/validateauthtoken", headers=sdk_headers(token))
    assert conforms_to_reference(validated).json()["legalEntityId"] == "le-eck-at"
    # refreshed again without one, it keeps its legal entity
    again = shop.get(
        f"/customer/{TENANT}/refreshauthtoken",
        params={"refreshToken": refreshed.json()["refresh_token"]},
        headers=sdk_headers(anonymous),
    )
    validated = shop.get(
        f"/customer/{TENANT}/validateauthtoken", headers=sdk_headers(again.json()["access_token"])
    )
    assert validated.json()["legalEntityId"] == "le-eck-at"
    unscoped = shop.get(f"/customer/{TENANT}/validateauthtoken", headers=sdk_headers(session["access_token"]))
    assert "legalEntityId" not in conforms_to_reference(unscoped).json()


def test_refresh_with_a_legal_entity_the_customer_lacks_is_400_and_spends_nothing(shop):
    session = erin_session(shop)
    anonymous = anonymous_session(shop)["access_token"]
    path = f"/customer/{TENANT}/refreshauthtoken"
    refused = shop.get(
        path,
        params={"refreshToken": session["refresh_token"], "legalEntityId": "le-other"},
        headers=sdk_headers(anonymous),
    )
    assert conforms_to_reference(refused).status_code == 400
    assert [detail["field"] for detail in refused.json()["details"]] == ["legalEntityId"]
    finn = sdk_login(shop, anonymous, FINN).json()
    refused = shop.get(
        path,
        params={"refreshToken": finn["refresh_token"], "legalEntityId": "le-eck-de"},
        headers=sdk_headers(anonymous),
    )
    assert refused.status_code == 400
    fine = shop.get(path, params={"refreshToken": session["refresh_token"]}, headers=sdk_headers(anonymous))
    assert fine.status_code == 200


def test_sdk_logout_answers_204_without_a_content_type(shop):
    token = erin_session(shop)["access_token"]
    response = shop.get(
        f"/customer/{TENANT}/logout", params={"accessToken": token}, headers=sdk_headers(token)
    )
    assert (conforms_to_reference(response).status_code, response.content) == (204, b"")
    assert "content-type" not in response.headers


def test_default_fixtures_customer_logs_in_as_the_sdk_does(client):
    """The bundled fixtures: the SDK's login against tenant demo keeps its session too."""
    anonymous = client.get(
        "/customerlogin/auth/anonymous/login", params={"tenant": "demo", "client_id": "storefront-key"}
    ).json()
    response = client.post(
        "/customer/demo/login",
        json={"email": ALICE["email"], "password": ALICE["password"]},
        headers=sdk_headers(anonymous["access_token"], body=True),
    )
    assert conforms_to_reference(response).json()["session_id"] == anonymous["sessionId"]
