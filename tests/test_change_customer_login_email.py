"""POST /customer/{tenant}/me/accounts/internal/email/change over HTTP: a confirmation token is
emailed to the new address; nothing changes until it is confirmed."""

from __future__ import annotations

import pytest

from tests.conftest import (
    ALICE,
    BOB,
    DAVE_OF_ACME,
    bearer,
    error_body,
    error_fields,
)

URL = "/customer/demo/me/accounts/internal/email/change"
NEW_EMAIL = "alice.new@example.com"


def request_change(client, token: str, **overrides: object):
    body = {"email": ALICE["email"], "password": ALICE["password"], "newEmail": NEW_EMAIL, **overrides}
    return client.post(URL, json=body, headers=bearer(token))


def test_change_customer_login_email_sends_token_to_new_email(client):
    assert request_change(client, client.customer_token()).status_code == 204
    [email] = client.outbox()
    assert (email["to"], email["kind"], email["customerId"], email["tenant"]) == (
        NEW_EMAIL,
        "email-change",
        ALICE["id"],
        "demo",
    )
    assert email["link"] == f"http://localhost:3000/confirm-email?tenant=demo&token={email['token']}"
    assert email["link"] in email["body"]


def test_change_customer_login_email_changes_nothing_before_confirmation(client):
    request_change(client, client.customer_token())
    alice = next(c for c in client.get("/_mock/tenants/demo/customers").json() if c["id"] == ALICE["id"])
    assert (alice["email"], alice["contactEmail"]) == (ALICE["email"], ALICE["email"])
    assert client.can_log_in(ALICE["email"], ALICE["password"])
    assert not client.can_log_in(NEW_EMAIL, ALICE["password"])


def test_change_customer_login_email_link_follows_configured_template(client_with):
    client = client_with(email_change_link="https://shop.example/confirm/{token}?to={email}")
    request_change(client, client.customer_token())
    email = client.latest_email()
    assert email["link"] == f"https://shop.example/confirm/{email['token']}?to=alice.new%40example.com"
    assert email["link"] in email["body"]


@pytest.mark.parametrize(
    "overrides",
    [{"email": BOB["email"]}, {"password": "wrong-password"}],
    ids=["wrong-email", "wrong-password"],
)
def test_change_customer_login_email_wrong_credentials_are_rejected(client, overrides):
    body = error_body(request_change(client, client.customer_token(), **overrides), 400)
    assert body["type"] == "invalid_credentials"
    assert client.outbox() == []


@pytest.mark.parametrize(
    ("new_email", "error_type"),
    [
        ("not-an-email", "validation_violation"),
        (ALICE["email"], "validation_violation"),
        ("ALICE@Example.COM", "validation_violation"),
        (BOB["email"], "email_already_used"),
    ],
    ids=["invalid", "same", "same-other-case", "used-by-bob"],
)
def test_change_customer_login_email_bad_new_email_is_rejected(client, new_email, error_type):
    body = error_body(request_change(client, client.customer_token(), newEmail=new_email), 400)
    assert body["type"] == error_type
    assert error_fields(body) == ["newEmail"]
    assert client.outbox() == []


def test_change_customer_login_email_email_of_other_tenant_is_free(client):
    assert request_change(client, client.customer_token(), newEmail=DAVE_OF_ACME["email"]).status_code == 204


@pytest.mark.parametrize("missing", ["email", "password", "newEmail"])
def test_change_customer_login_email_missing_field_is_rejected(client, missing):
    body = {"email": ALICE["email"], "password": ALICE["password"], "newEmail": NEW_EMAIL}
    del body[missing]
    response = client.post(URL, json=body, headers=bearer(client.customer_token()))
    assert missing in error_fields(error_body(response, 400))


def test_change_customer_login_email_empty_body_names_every_missing_field(client):
    response = client.post(URL, json={}, headers=bearer(client.customer_token()))
    body = error_body(response, 400)
    assert error_fields(body) == ["email", "password", "newEmail"]
    assert {detail["type"] for detail in body["details"]} == {"missing_value"}
    assert client.outbox() == []


def test_change_customer_login_email_without_profile_edit_scope_is_forbidden(client):
    token = client.customer_token(scopes=["customer.customer_read_own", "customer.customer_manage_own"])
    body = error_body(request_change(client, token), 403)
    assert "customer.customerprofile_edit" in body["message"]
    assert client.outbox() == []


def test_change_customer_login_email_anonymous_token_is_forbidden(client):
    error_body(request_change(client, client.anonymous_token()), 403)
    assert client.outbox() == []
