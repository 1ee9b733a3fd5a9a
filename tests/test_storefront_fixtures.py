"""The fixtures file: a misspelt key stops the start with one line naming it and where it is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from credmock.app import build_domain
from credmock.core.seeding import FixtureError, load_fixtures
from credmock.settings import Settings
from tests.conftest import bearer
from tests.test_cli import serve_and_fail
from tests.test_storefront import login, profile

VALID_CUSTOMER = "{email: a@example.com, password: secret-1}"
MISSPELT_CUSTOMER = "{email: a@example.com, password: secret-1, fristName: Al}"


@pytest.mark.parametrize(
    ("content", "where", "message"),
    [
        (
            f"tenants:\n  demo:\n    customer:\n      - {VALID_CUSTOMER}\n",
            "tenants.demo",
            "unknown key 'customer' (did you mean 'customers'?)",
        ),
        (
            f"tenants:\n  demo:\n    customers:\n      - {MISSPELT_CUSTOMER}\n",
            "tenants.demo.customers[0]",
            "unknown key 'fristName' (did you mean 'firstName'?)",
        ),
        (
            f"tenant:\n  demo:\n    customers:\n      - {VALID_CUSTOMER}\n",
            "",
            "unknown key 'tenant' (did you mean 'tenants'?)",
        ),
        (
            "tenants:\n  demo:\n    customers:\n"
            f"      - {VALID_CUSTOMER}\n"
            "      - {email: b@example.com, password: secret-2, shoeSize: 44}\n",
            "tenants.demo.customers[1]",
            "unknown key 'shoeSize' (known keys: id, email, password, firstName,",
        ),
        (
            "tenants:\n  demo:\n    customers:\n"
            "      - {email: a@example.com, password: secret-1, b2b: {companyRegistratonId: DE-1}}\n",
            "tenants.demo.customers[0].b2b",
            "unknown key 'companyRegistratonId' (did you mean 'companyRegistrationId'?)",
        ),
    ],
    ids=["customer", "fristName", "tenant", "no-close-match", "nested"],
)
def test_misspelt_fixture_key_is_named(tmp_path: Path, content: str, where: str, message: str):
    path = tmp_path / "customers.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FixtureError) as raised:
        load_fixtures(path)
    location = f"{path}: {where}: " if where else f"{path}: "
    assert str(raised.value).startswith(location + message)


def test_misspelt_fixture_key_stops_serve_in_one_line(tmp_path: Path):
    path = tmp_path / "customers.yaml"
    path.write_text(f"tenants:\n  demo:\n    customers:\n      - {MISSPELT_CUSTOMER}\n", encoding="utf-8")
    result = serve_and_fail("--fixtures", str(path))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line == (
        f"credmock: {path}: tenants.demo.customers[0]: unknown key 'fristName' (did you mean 'firstName'?)"
    )


@pytest.mark.parametrize(
    ("customer", "message"),
    [
        (
            "{email: a@example.com, password: secret-1, initialPassword: yes please}",
            "'initialPassword' must be",
        ),
        (
            "{email: a@example.com, password: secret-1, preferredCurrency: EURO}",
            "'preferredCurrency' must be",
        ),
        ("{email: a@example.com, password: secret-1, b2b: acme}", "'b2b' must be an object"),
    ],
    ids=["initial-password", "currency", "b2b"],
)
def test_fixture_profile_field_of_the_wrong_type_is_named(tmp_path: Path, customer: str, message: str):
    path = tmp_path / "customers.yaml"
    path.write_text(f"tenants:\n  demo:\n    customers:\n      - {customer}\n", encoding="utf-8")
    with pytest.raises(FixtureError) as raised:
        load_fixtures(path)
    assert str(raised.value).startswith(f"{path}: tenants.demo.customers[0]: {message}")


def test_fixtures_doc_example_loads_and_logs_in(tmp_path: Path, client_with):
    doc = (Path(__file__).resolve().parent.parent / "docs" / "fixtures.md").read_text(encoding="utf-8")
    path = tmp_path / "customers.yaml"
    path.write_text(re.search(r"```yaml\n(.*?)```", doc, re.S).group(1), encoding="utf-8")
    client = client_with(fixtures_path=path)
    session = login(client, "support-made@shop.test", "from-support-1")
    assert session["initialPassword"] is True
    me = profile(client, session["access_token"])
    assert (me["company"], me["businessModel"], me["preferredCurrency"]) == ("Acme", "B2B", "CHF")
    expanded = client.get("/customer/demo/me?expand=addresses", headers=bearer(session["access_token"]))
    assert [address["city"] for address in expanded.json()["addresses"]] == ["Zurich"]


# Addresses -------------------------------------------------------------------------------------


def test_fixture_addresses_are_shown_by_me_expanded(tmp_path: Path, client_with):
    path = tmp_path / "customers.yaml"
    path.write_text(
        "tenants:\n  demo:\n    customers:\n"
        "      - email: kim@example.com\n"
        "        password: kim-pass-1\n"
        "        addresses:\n"
        "          - {contactName: Kim Kai, street: Bahnhofstrasse, country: CH, tags: [BILLING]}\n"
        "          - {id: home, contactName: Kim Kai, city: Bern, isDefault: true, tags: [SHIPPING]}\n",
        encoding="utf-8",
    )
    client = client_with(fixtures_path=path)
    token = login(client, "kim@example.com", "kim-pass-1")["access_token"]
    response = client.get("/customer/demo/me", params={"expand": "addresses"}, headers=bearer(token))
    assert response.status_code == 200, response.text
    me = response.json()
    billing, home = me["addresses"]
    assert (billing["street"], billing["tags"], billing["isDefault"]) == (
        "Bahnhofstrasse",
        ["BILLING"],
        False,
    )
    assert billing["id"] and billing["id"] != "home"
    assert (home["id"], home["city"], home["isDefault"]) == ("home", "Bern", True)
    assert me["defaultAddress"] == home


def test_fixture_first_address_is_the_default_when_none_is_marked(tmp_path: Path):
    path = tmp_path / "customers.yaml"
    path.write_text(
        "tenants:\n  demo:\n    customers:\n"
        "      - {email: a@example.com, password: secret-1,\n"
        "         addresses: [{contactName: A}, {contactName: B}]}\n",
        encoding="utf-8",
    )
    domain = build_domain(Settings(fixtures_path=path))
    [customer] = domain.list_customers("demo")
    assert [(address.contact_name, address.is_default) for address in customer.profile.addresses] == [
        ("A", True),
        ("B", False),
    ]


@pytest.mark.parametrize(
    ("addresses", "message"),
    [
        (
            "[{contactName: A, zipcode: '1000'}]",
            ".addresses[0]: unknown key 'zipcode' (did you mean 'zipCode'?)",
        ),
        ("[{street: Main}]", ".addresses[0]: 'contactName' is required."),
        ("[{contactName: A, country: CHE}]", ".addresses[0]: 'country' must be a two-letter"),
        ("[{contactName: A, isDefault: yes please}]", ".addresses[0]: 'isDefault' must be true or false"),
        (
            "[{contactName: A, isDefault: true}, {contactName: B, isDefault: true}]",
            ": only one address can be 'isDefault: true'",
        ),
        ("[{id: a1, contactName: A}, {id: a1, contactName: B}]", ": two addresses have the same 'id'"),
        ("{contactName: A}", ": 'addresses' must be a list"),
    ],
    ids=["misspelt-key", "no-contact-name", "country", "is-default", "two-defaults", "same-id", "not-a-list"],
)
def test_fixture_address_problem_is_named(tmp_path: Path, addresses: str, message: str):
    path = tmp_path / "customers.yaml"
    path.write_text(
        "tenants:\n  demo:\n    customers:\n"
        f"      - {{email: a@example.com, password: secret-1, addresses: {addresses}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(FixtureError) as raised:
        load_fixtures(path)
    assert str(raised.value).startswith(f"{path}: tenants.demo.customers[0]{message}")
