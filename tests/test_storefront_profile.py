"""What a customer gives at signup and what the storefront shows of it: the reference's
``customerDetails``, ``/me``, ``initialPassword``, and the email addresses test suites use.

Every response is checked against spec/storefront.yaml by the ``client`` fixture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ALICE, ContractClient, bearer, error_body, error_fields
from tests.test_storefront import anonymous_login, credentials, login, profile, signup

# The reference's signup example, in full.
DETAILS = {
    "title": "MR",
    "firstName": "John",
    "middleName": "",
    "lastName": "Doe",
    "contactEmail": "john.doe@example.com",
    "contactPhone": "123456789",
    "company": "Emporix",
    "preferredLanguage": "en_US",
    "preferredCurrency": "EUR",
    "preferredSite": "main",
    "b2b": {"companyRegistrationId": "123-456-789"},
}
ADDRESS = {"contactName": "John Doe", "street": "Platz der Republik", "zipCode": "11011", "country": "DE"}


def sign_up_and_log_in(client: ContractClient, body: dict[str, Any]) -> dict[str, Any]:
    """The profile of a new customer, as ``/me`` shows it after logging in."""
    response = signup(client, body)
    assert response.status_code == 201, response.text
    login_email = (body.get("signup") or body)["email"]
    login_password = (body.get("signup") or body)["password"]
    return profile(client, login(client, login_email, login_password)["access_token"])


def change_login_email(client: ContractClient, token: str, new_email: str, *, sync: bool = False) -> None:
    """Alice's login email changed to ``new_email``: requested, then confirmed by the emailed token."""
    response = client.post(
        "/customer/demo/me/accounts/internal/email/change",
        json={**credentials(ALICE), "newEmail": new_email, "syncContactEmail": sync},
        headers=bearer(token),
    )
    assert response.status_code == 204, response.text
    confirm = client.post(
        "/customer/demo/me/accounts/internal/email/change/confirm",
        json={"token": client.latest_email(to=new_email)["token"]},
        headers=bearer(anonymous_login(client)["access_token"]),
    )
    assert confirm.status_code == 204, confirm.text


# customerDetails ------------------------------------------------------------------------------


def test_signup_stores_customer_details_and_me_shows_them(client):
    body = {
        "email": "john.doe@example.com",
        "password": "john-pass-1",
        "customerDetails": {**DETAILS, "mixins": {"loyalty": {"level": "gold"}}},
        "customerAddress": ADDRESS,
    }
    me = sign_up_and_log_in(client, body)
    for field in ("title", "firstName", "middleName", "lastName", "contactEmail", "contactPhone", "company"):
        assert me[field] == DETAILS[field], field
    assert (me["preferredLanguage"], me["preferredCurrency"], me["preferredSite"]) == ("en_US", "EUR", "main")
    assert me["b2b"] == {"companyRegistrationId": "123-456-789"}
    assert me["businessModel"] == "B2C"  # no legal entity assigned
    assert me["mixins"] == {"loyalty": {"level": "gold"}}
    assert me["metadata"]["version"] == 1
    assert me["accounts"] == [{"id": "john.doe@example.com"}]


def test_signup_without_details_shows_a_b2c_profile_on_the_default_site(client):
    me = sign_up_and_log_in(client, {"email": "plain@example.com", "password": "plain-pass-1"})
    assert (me["businessModel"], me["preferredSite"], me["metadata"]["version"]) == ("B2C", "main", 1)
    assert "b2b" not in me and "title" not in me


def test_anonymous_profile_shows_the_default_site(client):
    me = profile(client, anonymous_login(client)["access_token"])
    assert (me["id"], me["preferredSite"]) == ("00000000", "main")


def test_signup_contact_email_differing_from_email_is_400(client):
    body = {
        "email": "john.doe@example.com",
        "password": "john-pass-1",
        "customerDetails": {"contactEmail": "someone.else@example.com"},
    }
    error = error_body(signup(client, body), 400)
    assert error["type"] == "validation_violation"
    assert error_fields(error) == ["customerDetails.contactEmail"]
    assert not client.can_log_in("john.doe@example.com", "john-pass-1")


def test_signup_contact_email_is_compared_as_an_address(client):
    body = {
        "email": "john.doe@example.com",
        "password": "john-pass-1",
        "customerDetails": {"contactEmail": "john.doe@EXAMPLE.com"},
    }
    assert sign_up_and_log_in(client, body)["contactEmail"] == "john.doe@example.com"


def test_signup_with_separate_credentials_contact_email_must_match_the_email(client):
    body = {
        "email": "jane@example.com",
        "password": "jane-pass-1",
        "customerDetails": {"contactEmail": "jane.login@example.com"},
        "signup": {"email": "jane.login@example.com", "password": "jane-login-1"},
    }
    assert error_fields(error_body(signup(client, body), 400)) == ["customerDetails.contactEmail"]
    body["customerDetails"]["contactEmail"] = "jane@example.com"
    me = sign_up_and_log_in(client, body)
    assert (me["contactEmail"], me["accounts"]) == ("jane@example.com", [{"id": "jane.login@example.com"}])


def test_signup_company_registration_id_needs_names_and_company(client):
    body = {
        "email": "b2b@example.com",
        "password": "b2b-pass-1",
        "customerDetails": {"firstName": "Bea", "b2b": {"companyRegistrationId": "123-456-789"}},
    }
    error = error_body(signup(client, body), 400)
    assert error_fields(error) == ["customerDetails.lastName", "customerDetails.company"]


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"preferredCurrency": "EURO"}, "customerDetails.preferredCurrency"),
        ({"title": 7}, "customerDetails.title"),
        ({"b2b": "acme"}, "customerDetails.b2b"),
    ],
    ids=["currency-not-three-letters", "title-not-a-string", "b2b-not-an-object"],
)
def test_signup_bad_customer_details_are_400_naming_the_field(client, details, field):
    body = {"email": "gina@example.com", "password": "gina-pass-7", "customerDetails": details}
    assert field in error_fields(error_body(signup(client, body), 400))


def test_me_metadata_version_grows_when_the_profile_changes(client):
    token = login(client, **credentials(ALICE))["access_token"]
    assert profile(client, token)["metadata"]["version"] == 1
    change_login_email(client, token, "alice.new@example.com")
    assert profile(client, token)["metadata"]["version"] == 2


# customerAddress ------------------------------------------------------------------------------

# The reference's signup example address, in full.
FULL_ADDRESS = {
    "contactName": "John Doe",
    "companyName": "Emporix",
    "street": "Platz der Republik",
    "streetNumber": "1",
    "streetAppendix": "",
    "extraLine1": "",
    "extraLine2": "",
    "zipCode": "11011",
    "city": "Berlin",
    "country": "DE",
    "state": "Berlin",
    "contactPhone": "123456789",
    "tags": ["BILLING", "SHIPPING"],
}


def profile_with_addresses(client: ContractClient, token: str, expand: str = "addresses") -> dict[str, Any]:
    response = client.get("/customer/demo/me", params={"expand": expand}, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def signed_up_token(client: ContractClient, address: dict[str, Any]) -> str:
    body = {"email": "john.doe@example.com", "password": "john-pass-1", "customerAddress": address}
    assert signup(client, body).status_code == 201
    return login(client, "john.doe@example.com", "john-pass-1")["access_token"]


def test_signup_stores_customer_address_and_me_expands_it(client):
    token = signed_up_token(client, FULL_ADDRESS)
    me = profile_with_addresses(client, token)
    [address] = me["addresses"]
    assert {field: address[field] for field in FULL_ADDRESS} == FULL_ADDRESS
    assert address["isDefault"] is True
    assert address["id"] and address["metadata"]["version"] == 1
    assert me["defaultAddress"] == address


def test_me_shows_addresses_only_when_expanded(client):
    token = signed_up_token(client, ADDRESS)
    assert "addresses" not in profile(client, token)
    assert "defaultAddress" not in profile(client, token)
    expanded = profile_with_addresses(client, token, "mixin:*, addresses")
    assert [address["contactName"] for address in expanded["addresses"]] == ["John Doe"]


def test_me_expands_no_addresses_for_a_customer_without_one(client):
    me = profile_with_addresses(client, login(client, **credentials(ALICE))["access_token"])
    assert me["addresses"] == [] and "defaultAddress" not in me


def test_signup_address_ids_differ_between_customers(client):
    first = profile_with_addresses(client, signed_up_token(client, ADDRESS))["addresses"][0]["id"]
    body = {"email": "jane@example.com", "password": "jane-pass-1", "customerAddress": ADDRESS}
    assert signup(client, body).status_code == 201
    token = login(client, "jane@example.com", "jane-pass-1")["access_token"]
    assert profile_with_addresses(client, token)["addresses"][0]["id"] != first


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ({"street": "Platz der Republik"}, "customerAddress.contactName"),
        ({**ADDRESS, "country": "DEU"}, "customerAddress.country"),
        ({**ADDRESS, "tags": "BILLING"}, "customerAddress.tags"),
        ({**ADDRESS, "zipCode": 11011}, "customerAddress.zipCode"),
        ("Berlin", "customerAddress"),
    ],
    ids=[
        "no-contact-name",
        "country-of-three-letters",
        "tags-not-a-list",
        "zip-code-a-number",
        "not-an-object",
    ],
)
def test_signup_bad_customer_address_is_400_naming_the_field(client, address, field):
    body = {"email": "john.doe@example.com", "password": "john-pass-1", "customerAddress": address}
    assert field in error_fields(error_body(signup(client, body), 400))
    assert not client.can_log_in("john.doe@example.com", "john-pass-1")


def test_profile_update_keeps_the_addresses(client):
    token = signed_up_token(client, FULL_ADDRESS)
    before = profile_with_addresses(client, token)["addresses"]
    response = client.patch("/customer/demo/me", json={"firstName": "Johnny"}, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert profile_with_addresses(client, token)["addresses"] == before


# initialPassword ------------------------------------------------------------------------------


def test_login_returns_initial_password_false_for_a_customer_who_chose_it(client):
    assert login(client, **credentials(ALICE))["initialPassword"] is False
    assert signup(client, {"email": "new@example.com", "password": "new-pass-1"}).status_code == 201
    assert login(client, "new@example.com", "new-pass-1")["initialPassword"] is False


def write_fixtures(tmp_path: Path, customer: str) -> Path:
    path = tmp_path / "customers.yaml"
    path.write_text(f"tenants:\n  shop:\n    customers:\n      - {customer}\n", encoding="utf-8")
    return path


def test_login_returns_initial_password_true_until_the_customer_changes_it(client_with, tmp_path):
    fixtures = write_fixtures(
        tmp_path, "{email: ivy@example.com, password: from-support-1, initialPassword: true}"
    )
    client = client_with(fixtures_path=fixtures)
    session = login(client, "ivy@example.com", "from-support-1", tenant="shop")
    assert session["initialPassword"] is True
    response = client.post(
        "/customer/shop/password/change",
        json={"currentPassword": "from-support-1", "newPassword": "ivy-own-pass"},
        headers=bearer(session["access_token"]),
    )
    assert response.status_code == 204
    assert login(client, "ivy@example.com", "ivy-own-pass", tenant="shop")["initialPassword"] is False


def test_fixture_profile_fields_are_shown_by_me(client_with, tmp_path):
    fixtures = write_fixtures(
        tmp_path,
        "{email: kim@example.com, password: kim-pass-1, firstName: Kim, lastName: Kai, company: Acme,"
        " title: MS, preferredCurrency: CHF, b2b: {companyRegistrationId: CH-1},"
        " legalEntities: [{id: le-1, name: Acme CH}]}",
    )
    client = client_with(fixtures_path=fixtures)
    me = profile(
        client, login(client, "kim@example.com", "kim-pass-1", tenant="shop")["access_token"], "shop"
    )
    assert (me["title"], me["company"], me["preferredCurrency"], me["businessModel"]) == (
        "MS",
        "Acme",
        "CHF",
        "B2B",
    )


# Special-use email domains --------------------------------------------------------------------

SPECIAL_USE_EMAILS = ["dev@shop.test", "a@example.com", "x@localhost", "qa@intranet.local"]


@pytest.mark.parametrize("email", SPECIAL_USE_EMAILS)
def test_special_use_email_domains_are_accepted_in_signup(client, email):
    me = sign_up_and_log_in(client, {"email": email, "password": "test-pass-1"})
    assert me["accounts"] == [{"id": email}]


@pytest.mark.parametrize("email", SPECIAL_USE_EMAILS)
def test_special_use_email_domains_are_accepted_in_email_change(client, email):
    response = client.post(
        "/customer/demo/me/accounts/internal/email/change",
        json={**credentials(ALICE), "newEmail": email},
        headers=bearer(client.customer_token()),
    )
    assert response.status_code == 204, response.text
    assert client.latest_email(to=email)["kind"] == "email-change"


def test_special_use_email_domains_are_accepted_in_fixtures(client_with, tmp_path):
    fixtures = write_fixtures(tmp_path, "{email: Dev@Shop.TEST, password: dev-pass-1}")
    client = client_with(fixtures_path=fixtures)
    assert login(client, "dev@shop.test", "dev-pass-1", tenant="shop")["access_token"]


@pytest.mark.parametrize("email", ["x@", "a..b@localhost", "x@-bad.test", "no-at-sign.test"])
def test_invalid_addresses_under_special_use_names_are_still_refused(client, email):
    body = error_body(signup(client, {"email": email, "password": "test-pass-1"}), 400)
    assert error_fields(body) == ["email"]


def test_mock_api_customer_takes_the_fixture_profile_fields(client):
    body = {
        "email": "lee@example.com",
        "password": "from-support-2",
        "firstName": "Lee",
        "lastName": "Lo",
        "company": "Acme",
        "b2b": {"companyRegistrationId": "DE-42"},
        "initialPassword": True,
    }
    assert client.post("/_mock/tenants/demo/customers", json=body).status_code == 201
    session = login(client, "lee@example.com", "from-support-2")
    assert session["initialPassword"] is True
    me = profile(client, session["access_token"])
    assert (me["company"], me["businessModel"]) == ("Acme", "B2C")  # no legal entity assigned
    assert me["b2b"] == {"companyRegistrationId": "DE-42"}
