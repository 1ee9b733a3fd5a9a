"""The storefront sequence over real HTTP against a live server of each engine, as a storefront
runs it: anonymous login, signup (and a second one, refused), login, token validation, email
change confirmed from the outbox, login with the new email, profile, logout; then a profile update
and the address book. Every response is checked against the OpenAPI document describing it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from credmock.settings import Settings
from credmock.tools.contract import ContractChecker
from credmock.tools.testing import LiveServer
from tests.conftest import bearer


@pytest.fixture(params=["async", "flask"])
def storefront(request: pytest.FixtureRequest, checkers: list[ContractChecker]) -> Iterator[httpx.Client]:
    """An HTTP client of a live server; a response no document describes, or one that does not
    conform, fails the test."""

    def check(response: httpx.Response) -> None:
        response.read()
        request = response.request
        describing = [c for c in checkers if c.describes(request.method, str(request.url))]
        assert describing, f"no document describes {request.method} {request.url.path}"
        for checker in describing:
            violations = checker.check_httpx(response)
            assert not violations, f"{request.method} {request.url} -> {response.status_code}: {violations}"

    with (
        LiveServer(Settings(seed=7, engine=request.param)) as server,
        httpx.Client(base_url=server.base_url, event_hooks={"response": [check]}, timeout=10) as http,
    ):
        yield http


def test_storefront_sequence_signup_to_logout_over_http(storefront):
    tenant = {"tenant": "demo", "client_id": "storefront-key"}
    anonymous = storefront.get("/customerlogin/auth/anonymous/login", params=tenant)
    assert anonymous.status_code == 200
    anonymous_token = anonymous.json()["access_token"]

    account = {"email": "hana@example.com", "password": "hana-pass-8"}
    details = {
        "firstName": "Hana",
        "lastName": "Holm",
        "contactEmail": account["email"],
        "company": "Holm AB",
        "preferredCurrency": "SEK",
        "b2b": {"companyRegistrationId": "SE-556"},
    }
    signup = storefront.post(
        "/customer/demo/signup", json={**account, "customerDetails": details}, headers=bearer(anonymous_token)
    )
    assert signup.status_code == 201
    customer_id = signup.json()["id"]
    again = storefront.post("/customer/demo/signup", json=account, headers=bearer(anonymous_token))
    assert (again.status_code, again.json()["type"]) == (409, "conflict_resource")

    login = storefront.post("/customer/demo/login", json=account, headers=bearer(anonymous_token))
    assert login.status_code == 200
    assert login.json()["initialPassword"] is False
    customer_token = login.json()["access_token"]
    valid = storefront.get("/customer/demo/validateauthtoken", headers=bearer(customer_token))
    assert valid.status_code == 200
    assert (valid.json()["email"], valid.json()["sessionId"]) == (
        account["email"],
        login.json()["session_id"],
    )

    change = storefront.post(
        "/customer/demo/me/accounts/internal/email/change",
        json={**account, "newEmail": "hana.holm@example.org", "syncContactEmail": True},
        headers=bearer(customer_token),
    )
    assert change.status_code == 204
    email = storefront.get("/_mock/outbox/latest", params={"to": "hana.holm@example.org"})
    assert email.status_code == 200
    confirm = storefront.post(
        "/customer/demo/me/accounts/internal/email/change/confirm",
        json={"token": email.json()["token"]},
        headers=bearer(anonymous_token),
    )
    assert confirm.status_code == 204

    old_email_login = storefront.post("/customer/demo/login", json=account, headers=bearer(anonymous_token))
    assert old_email_login.status_code == 401
    new_login = storefront.post(
        "/customer/demo/login",
        json={"email": "hana.holm@example.org", "password": account["password"]},
        headers=bearer(anonymous_token),
    )
    assert new_login.status_code == 200
    new_token = new_login.json()["access_token"]

    me = storefront.get("/customer/demo/me", headers=bearer(new_token))
    assert me.status_code == 200
    assert me.json()["id"] == customer_id
    assert me.json()["accounts"] == [{"id": "hana.holm@example.org"}]
    assert me.json()["contactEmail"] == "hana.holm@example.org"
    assert (me.json()["company"], me.json()["preferredCurrency"], me.json()["businessModel"]) == (
        "Holm AB",
        "SEK",
        "B2C",  # B2B follows a legal entity assignment, not the company registration id
    )
    assert me.json()["metadata"]["version"] == 2

    logout = storefront.get(
        "/customer/demo/logout", params={"accessToken": new_token}, headers=bearer(new_token)
    )
    assert logout.status_code == 204
    rejected = storefront.get("/customer/demo/me", headers=bearer(new_token))
    assert rejected.status_code == 401
    assert rejected.json()["fault"]["faultstring"] == "Invalid access token"
    invalid = storefront.get("/customer/demo/validateauthtoken", headers=bearer(new_token))
    assert invalid.status_code == 401


def test_storefront_profile_and_address_book_over_http(storefront):
    anonymous = storefront.get(
        "/customerlogin/auth/anonymous/login", params={"tenant": "demo", "client_id": "storefront-key"}
    )
    anonymous_token = anonymous.json()["access_token"]
    account = {"email": "ivo@example.com", "password": "ivo-pass-9"}
    first_address = {"contactName": "Ivo Iles", "street": "Main Street", "city": "Dublin", "country": "IE"}
    signup = storefront.post(
        "/customer/demo/signup",
        json={**account, "customerDetails": {"firstName": "Ivo"}, "customerAddress": first_address},
        headers=bearer(anonymous_token),
    )
    assert signup.status_code == 201
    login = storefront.post("/customer/demo/login", json=account, headers=bearer(anonymous_token))
    token = bearer(login.json()["access_token"])

    me = storefront.get("/customer/demo/me", params={"expand": "addresses"}, headers=token).json()
    [home] = me["addresses"]
    assert (home["city"], home["isDefault"], me["defaultAddress"]["id"]) == ("Dublin", True, home["id"])

    # The account page: names and currency, based on the version read
    update = storefront.patch(
        "/customer/demo/me",
        content=b'{"lastName": "Iles", "preferredCurrency": "EUR", "metadata": {"version": 1}}',
        headers={**token, "Content-Type": "application/merge-patch+json"},
    )
    assert update.status_code == 200
    stale = storefront.patch(
        "/customer/demo/me", json={"lastName": "Other", "metadata": {"version": 1}}, headers=token
    )
    assert (stale.status_code, stale.json()["type"]) == (400, "stale_version")

    # The address book: a new address becomes the default, the first one goes
    added = storefront.post(
        "/customer/demo/me/addresses", json={"contactName": "Ivo Iles", "city": "Cork"}, headers=token
    )
    assert added.status_code == 201
    office_id = added.json()["id"]
    made_default = storefront.patch(
        f"/customer/demo/me/addresses/{office_id}", json={"isDefault": True}, headers=token
    )
    assert made_default.status_code == 200
    tagged = storefront.post(
        f"/customer/demo/me/addresses/{office_id}/tags", params={"tags": "BILLING"}, headers=token
    )
    assert tagged.status_code == 204
    assert storefront.delete(f"/customer/demo/me/addresses/{home['id']}", headers=token).status_code == 204

    me = storefront.get("/customer/demo/me", params={"expand": "addresses"}, headers=token).json()
    assert (me["firstName"], me["lastName"], me["preferredCurrency"]) == ("Ivo", "Iles", "EUR")
    [office] = me["addresses"]
    assert (office["id"], office["city"], office["isDefault"], office["tags"]) == (
        office_id,
        "Cork",
        True,
        ["BILLING"],
    )
    assert me["defaultAddress"] == office
    gone = storefront.get(f"/customer/demo/me/addresses/{home['id']}", headers=token)
    assert gone.status_code == 404
