"""POST /customer/{tenant}/password/change over HTTP: the logged-in customer changes the password."""

from __future__ import annotations

from tests.conftest import (
    ALICE,
    EXPIRED_TOKEN_FAULT,
    bearer,
    error_body,
    error_fields,
)

URL = "/customer/demo/password/change"


def change(client, token: str, current: str = ALICE["password"], new: str = "changed-pass"):
    return client.post(URL, json={"currentPassword": current, "newPassword": new}, headers=bearer(token))


def test_change_account_password_replaces_password(client):
    assert change(client, client.customer_token()).status_code == 204
    assert client.can_log_in(ALICE["email"], "changed-pass")
    assert not client.can_log_in(ALICE["email"], ALICE["password"])


def test_change_account_password_wrong_current_password_is_rejected(client):
    body = error_body(change(client, client.customer_token(), current="not-the-password"), 400)
    assert body["type"] == "invalid_password"
    assert client.can_log_in(ALICE["email"], ALICE["password"])


def test_change_account_password_short_password_is_rejected(client):
    body = error_body(change(client, client.customer_token(), new="12345"), 400)
    assert error_fields(body) == ["newPassword"]
    assert client.can_log_in(ALICE["email"], ALICE["password"])


def test_change_account_password_policy_is_configurable(client_with):
    client = client_with(password_min_length=3)
    assert change(client, client.customer_token(), new="abc").status_code == 204
    assert client.can_log_in(ALICE["email"], "abc")


def test_change_account_password_missing_fields_are_rejected(client):
    response = client.post(URL, json={}, headers=bearer(client.customer_token()))
    assert sorted(error_fields(error_body(response, 400))) == ["currentPassword", "newPassword"]


def test_change_account_password_anonymous_token_is_forbidden(client):
    error_body(change(client, client.anonymous_token()), 403)
    assert client.can_log_in(ALICE["email"], ALICE["password"])


def test_change_account_password_short_lived_token_expires(client):
    token = client.customer_token(expiresIn=60)
    client.advance_clock(60)
    assert change(client, token).json() == EXPIRED_TOKEN_FAULT
