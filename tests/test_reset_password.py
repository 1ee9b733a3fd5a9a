"""POST /customer/{tenant}/password/reset/update over HTTP: a new password with the emailed token."""

from __future__ import annotations

import pytest

from tests.conftest import (
    ALICE,
    BOB,
    DAVE_OF_ACME,
    INVALID_TOKEN_FAULT,
    bearer,
    error_body,
    error_fields,
)

URL = "/customer/demo/password/reset/update"


def emailed_reset_token(client, email: str = ALICE["email"], tenant: str = "demo") -> str:
    response = client.post(
        f"/customer/{tenant}/password/reset",
        json={"email": email},
        headers=bearer(client.anonymous_token(tenant)),
    )
    assert response.status_code == 204
    return client.latest_email(to=email, kind="password-reset")["token"]


def reset(client, token: str, password: str = "brand-new-pass", tenant: str = "demo"):
    return client.post(
        f"/customer/{tenant}/password/reset/update",
        json={"token": token, "password": password},
        headers=bearer(client.anonymous_token(tenant)),
    )


def test_reset_password_replaces_password(client):
    assert reset(client, emailed_reset_token(client)).status_code == 204
    assert client.can_log_in(ALICE["email"], "brand-new-pass")
    assert not client.can_log_in(ALICE["email"], ALICE["password"])


def test_reset_password_token_is_single_use(client):
    token = emailed_reset_token(client)
    assert reset(client, token).status_code == 204
    body = error_body(reset(client, token, "another-pass"), 400)
    assert body["type"] == "invalid_token"
    assert client.can_log_in(ALICE["email"], "brand-new-pass")


def test_reset_password_revokes_customers_access_tokens(client):
    alice, bob = client.customer_token(), client.customer_token(BOB["email"])
    assert reset(client, emailed_reset_token(client)).status_code == 204
    change = {"currentPassword": "wrong", "newPassword": "whatever-1"}
    response = client.post("/customer/demo/password/change", json=change, headers=bearer(alice))
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN_FAULT
    response = client.post("/customer/demo/password/change", json=change, headers=bearer(bob))
    assert error_body(response, 400)["type"] == "invalid_password"  # Bob's token still works


def test_reset_password_unknown_token_is_rejected(client):
    assert error_body(reset(client, "no-such-token"), 400)["type"] == "invalid_token"


def test_reset_password_expired_token_is_rejected(client):
    token = emailed_reset_token(client)
    client.advance_clock(3600)
    error_body(reset(client, token), 400)
    assert client.can_log_in(ALICE["email"], ALICE["password"])


def test_reset_password_token_lifetime_is_configurable(client_with):
    client = client_with(password_reset_token_lifetime=600)
    late = emailed_reset_token(client)
    client.advance_clock(600)
    error_body(reset(client, late), 400)

    client = client_with(password_reset_token_lifetime=600)
    in_time = emailed_reset_token(client)
    client.advance_clock(599)
    assert reset(client, in_time).status_code == 204


def test_reset_password_other_tenant_token_is_rejected(client):
    token = emailed_reset_token(client)
    error_body(reset(client, token, tenant="acme"), 400)
    assert client.can_log_in(DAVE_OF_ACME["email"], DAVE_OF_ACME["password"], tenant="acme")
    assert reset(client, token).status_code == 204


def test_reset_password_email_change_token_is_rejected(client):
    change = {"email": ALICE["email"], "password": ALICE["password"], "newEmail": "alice.new@example.com"}
    client.post(
        "/customer/demo/me/accounts/internal/email/change",
        json=change,
        headers=bearer(client.customer_token()),
    )
    token = client.latest_email(kind="email-change")["token"]
    error_body(reset(client, token), 400)


def test_reset_password_superseded_token_is_rejected(client):
    first = emailed_reset_token(client)
    second = emailed_reset_token(client)
    error_body(reset(client, first), 400)
    assert reset(client, second).status_code == 204


def test_reset_password_short_password_is_rejected_and_token_kept(client):
    token = emailed_reset_token(client)
    body = error_body(reset(client, token, "12345"), 400)
    assert error_fields(body) == ["password"]
    assert reset(client, token, "123456").status_code == 204


def test_reset_password_policy_is_configurable(client_with):
    client = client_with(password_min_length=12)
    token = emailed_reset_token(client)
    assert error_fields(error_body(reset(client, token, "12345678901"), 400)) == ["password"]
    assert reset(client, token, "123456789012").status_code == 204


@pytest.mark.parametrize("missing", ["token", "password"])
def test_reset_password_missing_field_is_rejected(client, missing):
    body = {"token": "some-token", "password": "brand-new-pass"}
    del body[missing]
    response = client.post(URL, json=body, headers=bearer(client.anonymous_token()))
    assert error_fields(error_body(response, 400)) == [missing]


def test_reset_password_refuses_a_customer_token_as_declared(client):
    body = {"token": emailed_reset_token(client), "password": "brand-new-pass"}
    response = client.post(URL, json=body, headers=bearer(client.customer_token(BOB["email"])))
    assert response.status_code == 403
    assert not client.can_log_in(ALICE["email"], "brand-new-pass")
