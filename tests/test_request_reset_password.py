"""POST /customer/{tenant}/password/reset over HTTP: email a reset token, say nothing about
unknown emails."""

from __future__ import annotations

import pytest

from tests.conftest import (
    ALICE,
    DAVE_OF_ACME,
    bearer,
    error_body,
    error_fields,
)

URL = "/customer/demo/password/reset"


def test_request_reset_password_known_email_sends_reset_email(client):
    response = client.post(URL, json={"email": ALICE["email"]}, headers=bearer(client.anonymous_token()))
    assert response.status_code == 204
    [email] = client.outbox()
    assert (email["tenant"], email["to"], email["kind"], email["customerId"]) == (
        "demo",
        ALICE["email"],
        "password-reset",
        ALICE["id"],
    )
    assert email["link"] == f"http://localhost:3000/reset-password?tenant=demo&token={email['token']}"
    assert email["link"] in email["body"]


def test_request_reset_password_matches_email_case_insensitively(client):
    response = client.post(URL, json={"email": "Alice@EXAMPLE.com"}, headers=bearer(client.anonymous_token()))
    assert response.status_code == 204
    assert client.latest_email()["to"] == ALICE["email"]


def test_request_reset_password_unknown_email_sends_nothing(client):
    token = client.anonymous_token()
    response = client.post(URL, json={"email": "nobody@example.com"}, headers=bearer(token))
    assert response.status_code == 204
    response = client.post(URL, json={"email": DAVE_OF_ACME["email"]}, headers=bearer(token))
    assert response.status_code == 204
    assert client.outbox() == []


def test_request_reset_password_link_follows_configured_template(client_with):
    client = client_with(password_reset_link="https://shop.example/{tenant}/new-password?t={token}")
    client.post(URL, json={"email": ALICE["email"]}, headers=bearer(client.anonymous_token()))
    email = client.latest_email()
    assert email["link"] == f"https://shop.example/demo/new-password?t={email['token']}"
    assert email["link"] in email["body"]


def test_request_reset_password_refuses_a_customer_token_as_declared(client):
    response = client.post(URL, json={"email": ALICE["email"]}, headers=bearer(client.customer_token()))
    assert error_body(response, 403)["type"] == "forbidden"
    assert client.outbox() == []


def test_request_reset_password_invalid_tenant_is_rejected(client):
    token = client.anonymous_token()
    error_body(
        client.post("/customer/Demo/password/reset", json={"email": "x@example.com"}, headers=bearer(token)),
        400,
    )


@pytest.mark.parametrize("body", [{}, {"email": 5}], ids=["missing", "not-a-string"])
def test_request_reset_password_bad_email_field_is_rejected(client, body):
    body = error_body(client.post(URL, json=body, headers=bearer(client.anonymous_token())), 400)
    assert error_fields(body) == ["email"]


def test_request_reset_password_malformed_json_is_rejected(client):
    headers = {**bearer(client.anonymous_token()), "Content-Type": "application/json"}
    error_body(client.post(URL, content=b"{not json", headers=headers), 400)
