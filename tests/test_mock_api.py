"""The mock's own API under /_mock: outbox, customers, tokens, clock, reset, health."""

from __future__ import annotations

import pytest

from tests.conftest import ALICE, BOB, DAVE_OF_ACME, bearer, error_body, error_fields


def request_reset(client, email: str, tenant: str = "demo") -> None:
    response = client.post(
        f"/customer/{tenant}/password/reset",
        json={"email": email},
        headers=bearer(client.anonymous_token(tenant)),
    )
    assert response.status_code == 204


@pytest.fixture
def three_emails(client):
    """Alice, then Bob (demo), then Dave (acme) asked for a reset, in that order."""
    for email, tenant in [(ALICE["email"], "demo"), (BOB["email"], "demo"), (DAVE_OF_ACME["email"], "acme")]:
        request_reset(client, email, tenant)
        client.advance_clock(1)


# Outbox ---------------------------------------------------------------------------------------


def test_list_outbox_newest_first(client, three_emails):
    emails = client.outbox()
    assert [e["to"] for e in emails] == [DAVE_OF_ACME["email"], BOB["email"], ALICE["email"]]
    assert emails[0]["sentAt"] > emails[1]["sentAt"] > emails[2]["sentAt"]


def test_list_outbox_filters_by_tenant(client, three_emails):
    assert [e["to"] for e in client.outbox(tenant="acme")] == [DAVE_OF_ACME["email"]]
    assert [e["to"] for e in client.outbox(tenant="demo")] == [BOB["email"], ALICE["email"]]


def test_list_outbox_filters_by_recipient_case_insensitively(client, three_emails):
    assert [e["to"] for e in client.outbox(to="BOB@Example.com")] == [BOB["email"]]


def test_list_outbox_filters_by_kind(client, three_emails):
    response = client.post(
        "/customer/demo/me/accounts/internal/email/change",
        json={"email": ALICE["email"], "password": ALICE["password"], "newEmail": "new@example.com"},
        headers=bearer(client.customer_token()),
    )
    assert response.status_code == 204
    assert [e["to"] for e in client.outbox(kind="email-change")] == ["new@example.com"]
    assert len(client.outbox(kind="password-reset")) == 3


def test_list_outbox_limit(client, three_emails):
    assert [e["to"] for e in client.outbox(limit="2")] == [DAVE_OF_ACME["email"], BOB["email"]]


def test_list_outbox_bad_filters_are_rejected(client):
    error_body(client.get("/_mock/outbox", params={"kind": "newsletter"}), 400)
    error_body(client.get("/_mock/outbox", params={"limit": "0"}), 400)


def test_get_latest_email_newest_match(client, three_emails):
    request_reset(client, ALICE["email"])
    latest = client.latest_email(to=ALICE["email"])
    assert latest == client.outbox()[0]
    assert client.latest_email(tenant="demo", kind="password-reset")["to"] == ALICE["email"]


def test_get_latest_email_none_is_not_found(client, three_emails):
    error_body(client.get("/_mock/outbox/latest", params={"to": "nobody@example.com"}), 404)
    error_body(client.get("/_mock/outbox/latest", params={"kind": "email-change"}), 404)


def test_clear_outbox_empties_it(client, three_emails):
    assert client.delete("/_mock/outbox").status_code == 204
    assert client.outbox() == []


# Customers ------------------------------------------------------------------------------------


def test_list_customers_never_exposes_passwords(client):
    customers = client.get("/_mock/tenants/demo/customers").json()
    assert [c["email"] for c in customers] == [ALICE["email"], BOB["email"], "carol@example.com"]
    assert customers[1] == {
        "id": BOB["id"],
        "email": BOB["email"],
        "contactEmail": "bob.berg@example.org",
        "firstName": "Bob",
        "lastName": "Berg",
    }
    text = client.get("/_mock/tenants/demo/customers").text
    assert "pass" not in text.lower()
    assert "pbkdf2" not in text


def test_get_customer_shows_one_customer_never_the_password(client):
    response = client.get(f"/_mock/tenants/demo/customers/{BOB['id']}")
    assert response.status_code == 200
    assert response.json() == client.get("/_mock/tenants/demo/customers").json()[1]
    assert "pbkdf2" not in response.text


@pytest.mark.parametrize(
    ("path", "status"),
    [("/_mock/tenants/demo/customers/99999999", 404), ("/_mock/tenants/acme/customers/10000001", 404),
     ("/_mock/tenants/No/customers/10000001", 400)],
    ids=["unknown-id", "other-tenant", "invalid-tenant"],
)  # fmt: skip
def test_get_customer_unknown_or_malformed_is_rejected(client, path, status):
    error_body(client.get(path), status)


def test_list_customers_unknown_tenant_is_empty(client):
    assert client.get("/_mock/tenants/nobody/customers").json() == []


def test_list_customers_invalid_tenant_is_rejected(client):
    error_body(client.get("/_mock/tenants/No/customers"), 400)


def test_create_customer_then_log_in(client):
    response = client.post(
        "/_mock/tenants/demo/customers",
        json={"email": "erin@example.com", "password": "erin-pass-5", "firstName": "Erin"},
    )
    assert response.status_code == 201
    customer_id = response.json()["id"]
    created = next(c for c in client.get("/_mock/tenants/demo/customers").json() if c["id"] == customer_id)
    assert (created["email"], created["contactEmail"], created["firstName"]) == (
        "erin@example.com",
        "erin@example.com",
        "Erin",
    )
    assert client.can_log_in("erin@example.com", "erin-pass-5")


def test_create_customer_in_new_tenant(client):
    response = client.post(
        "/_mock/tenants/shop2/customers", json={"email": "a@shop.example", "password": "secret"}
    )
    assert response.status_code == 201
    assert client.can_log_in("a@shop.example", "secret", tenant="shop2")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "erin@example.com", "password": "short"}, "password"),
        ({"email": "not-an-email", "password": "long-enough"}, "email"),
        ({"email": "erin@example.com"}, "password"),
    ],
    ids=["short-password", "bad-email", "no-password"],
)
def test_create_customer_bad_input_is_rejected(client, body, field):
    error = error_body(client.post("/_mock/tenants/demo/customers", json=body), 400)
    assert field in error_fields(error)
    assert len(client.get("/_mock/tenants/demo/customers").json()) == 3


def test_create_customer_with_existing_email_is_409(client):
    body = {"email": "ALICE@example.com", "password": "long-enough"}
    error = error_body(client.post("/_mock/tenants/demo/customers", json=body), 409)
    assert error["type"] == "conflict_resource"
    assert len(client.get("/_mock/tenants/demo/customers").json()) == 3


# Tokens ---------------------------------------------------------------------------------------


def test_create_access_token_anonymous(client):
    response = client.post("/_mock/tokens", json={"tenant": "demo", "kind": "anonymous"})
    assert response.status_code == 201
    token = response.json()
    assert (token["token_type"], token["expires_in"], token["scope"]) == ("Bearer", 3599, "tenant=demo")


def test_create_access_token_anonymous_with_lifetime(client):
    response = client.post("/_mock/tokens", json={"tenant": "demo", "kind": "anonymous", "expiresIn": 30})
    assert response.json()["expires_in"] == 30
    client.advance_clock(30)
    response = client.post(
        "/customer/demo/password/reset",
        json={"email": ALICE["email"]},
        headers=bearer(response.json()["access_token"]),
    )
    assert response.status_code == 401


def test_create_access_token_customer_with_default_scopes(client):
    response = client.post(
        "/_mock/tokens", json={"tenant": "demo", "kind": "customer", "email": ALICE["email"]}
    )
    assert response.status_code == 201
    token = response.json()
    assert token["expires_in"] == 2591999
    assert "customer.customerprofile_edit" in token["scope"].split()
    assert token["scope"].endswith("tenant=demo")


def test_create_access_token_customer_with_scopes_and_lifetime(client):
    response = client.post(
        "/_mock/tokens",
        json={
            "tenant": "demo",
            "kind": "customer",
            "email": ALICE["email"],
            "scopes": ["customer.customer_read_own"],
            "expiresIn": 120,
        },
    )
    assert response.status_code == 201
    assert (response.json()["scope"], response.json()["expires_in"]) == (
        "customer.customer_read_own tenant=demo",
        120,
    )


def test_create_access_token_scopes_as_string(client):
    body = {"tenant": "demo", "kind": "customer", "email": ALICE["email"], "scopes": "a.b c.d"}
    assert client.post("/_mock/tokens", json=body).json()["scope"] == "a.b c.d tenant=demo"


def test_create_access_token_checks_password_when_given(client):
    assert client.can_log_in(ALICE["email"], ALICE["password"])
    response = client.post(
        "/_mock/tokens",
        json={"tenant": "demo", "kind": "customer", "email": ALICE["email"], "password": "wrong-password"},
    )
    assert error_body(response, 400)["type"] == "invalid_credentials"


def test_create_access_token_unknown_customer_is_not_found(client):
    response = client.post(
        "/_mock/tokens", json={"tenant": "demo", "kind": "customer", "email": "x@example.com"}
    )
    error_body(response, 404)


@pytest.mark.parametrize(
    "body",
    [
        {"tenant": "demo", "kind": "customer"},
        {"tenant": "demo", "kind": "admin"},
        {"tenant": "Demo", "kind": "anonymous"},
        {"tenant": "demo", "kind": "customer", "email": ALICE["email"], "expiresIn": 0},
    ],
    ids=["customer-without-email", "unknown-kind", "bad-tenant", "zero-lifetime"],
)
def test_create_access_token_bad_request_is_rejected(client, body):
    error_body(client.post("/_mock/tokens", json=body), 400)


# Clock, reset, health -------------------------------------------------------------------------


def test_advance_clock_moves_time_forward(client):
    before = client.get("/_mock/clock").json()
    response = client.post("/_mock/clock", json={"advanceSeconds": 90})
    assert response.status_code == 200
    assert response.json()["offsetSeconds"] == before["offsetSeconds"] + 90
    assert response.json()["now"] > before["now"]


def test_advance_clock_backwards_is_rejected(client):
    error_body(client.post("/_mock/clock", json={"advanceSeconds": -5}), 400)


def test_reset_state_returns_to_fixtures(client):
    change = {"currentPassword": ALICE["password"], "newPassword": "changed-pass"}
    client.post("/customer/demo/password/change", json=change, headers=bearer(client.customer_token()))
    client.post("/_mock/tenants/demo/customers", json={"email": "erin@example.com", "password": "erin-pass"})
    request_reset(client, BOB["email"])
    client.advance_clock(1000)
    anonymous = client.anonymous_token()

    assert client.post("/_mock/reset").status_code == 204

    assert client.can_log_in(ALICE["email"], ALICE["password"])
    assert len(client.get("/_mock/tenants/demo/customers").json()) == 3
    assert client.outbox() == []
    assert client.get("/_mock/clock").json()["offsetSeconds"] == 0
    response = client.post(
        "/customer/demo/password/reset", json={"email": "x@example.com"}, headers=bearer(anonymous)
    )
    assert response.status_code == 401


def test_get_health(client, three_emails):
    response = client.get("/_mock/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "tenants": 2, "customers": 4, "outbox": 3}
