"""POST /customer/{tenant}/me/accounts/internal/email/change/confirm over HTTP: the emailed token
makes the new address the login email."""

from __future__ import annotations

from tests.conftest import (
    ALICE,
    BOB,
    bearer,
    error_body,
    error_fields,
)

URL = "/customer/demo/me/accounts/internal/email/change/confirm"
NEW_EMAIL = "alice.new@example.com"


def emailed_change_token(client, new_email: str = NEW_EMAIL, **extra: object) -> str:
    body = {"email": ALICE["email"], "password": ALICE["password"], "newEmail": new_email, **extra}
    response = client.post(
        "/customer/demo/me/accounts/internal/email/change", json=body, headers=bearer(client.customer_token())
    )
    assert response.status_code == 204, response.text
    return client.latest_email(to=new_email, kind="email-change")["token"]


def confirm(client, token: str, tenant: str = "demo"):
    return client.post(
        f"/customer/{tenant}/me/accounts/internal/email/change/confirm",
        json={"token": token},
        headers=bearer(client.anonymous_token(tenant)),
    )


def alice(client) -> dict[str, str]:
    return next(c for c in client.get("/_mock/tenants/demo/customers").json() if c["id"] == ALICE["id"])


def test_confirm_customer_login_email_replaces_login_email_only(client):
    assert confirm(client, emailed_change_token(client)).status_code == 204
    assert (alice(client)["email"], alice(client)["contactEmail"]) == (NEW_EMAIL, ALICE["email"])
    assert client.can_log_in(NEW_EMAIL, ALICE["password"])
    assert not client.can_log_in(ALICE["email"], ALICE["password"])


def test_confirm_customer_login_email_with_sync_replaces_contact_email(client):
    assert confirm(client, emailed_change_token(client, syncContactEmail=True)).status_code == 204
    assert (alice(client)["email"], alice(client)["contactEmail"]) == (NEW_EMAIL, NEW_EMAIL)


def test_confirm_customer_login_email_old_email_no_longer_works(client):
    confirm(client, emailed_change_token(client))
    client.delete("/_mock/outbox")
    response = client.post(
        "/customer/demo/password/reset",
        json={"email": ALICE["email"]},
        headers=bearer(client.anonymous_token()),
    )
    assert response.status_code == 204
    assert client.outbox() == []
    response = client.post(
        "/_mock/tokens", json={"tenant": "demo", "kind": "customer", "email": ALICE["email"]}
    )
    error_body(response, 404)


def test_confirm_customer_login_email_token_is_single_use(client):
    token = emailed_change_token(client)
    assert confirm(client, token).status_code == 204
    assert error_body(confirm(client, token), 400)["type"] == "invalid_token"


def test_confirm_customer_login_email_unknown_token_is_rejected(client):
    assert error_body(confirm(client, "no-such-token"), 400)["type"] == "invalid_token"


def test_confirm_customer_login_email_expired_token_is_rejected(client):
    token = emailed_change_token(client)
    client.advance_clock(3600)
    error_body(confirm(client, token), 400)
    assert alice(client)["email"] == ALICE["email"]


def test_confirm_customer_login_email_other_tenant_token_is_rejected(client):
    token = emailed_change_token(client)
    error_body(confirm(client, token, tenant="acme"), 400)
    assert confirm(client, token).status_code == 204


def test_confirm_customer_login_email_reset_token_is_rejected(client):
    client.post(
        "/customer/demo/password/reset",
        json={"email": ALICE["email"]},
        headers=bearer(client.anonymous_token()),
    )
    error_body(confirm(client, client.latest_email(kind="password-reset")["token"]), 400)
    assert alice(client)["email"] == ALICE["email"]


def test_confirm_customer_login_email_superseded_token_is_rejected(client):
    first = emailed_change_token(client, "first@example.com")
    second = emailed_change_token(client, "second@example.com")
    error_body(confirm(client, first), 400)
    assert confirm(client, second).status_code == 204
    assert alice(client)["email"] == "second@example.com"


def test_confirm_customer_login_email_new_email_taken_meanwhile_is_rejected(client):
    token = emailed_change_token(client)
    created = client.post(
        "/_mock/tenants/demo/customers", json={"email": NEW_EMAIL, "password": "other-pass"}
    )
    assert created.status_code == 201
    assert error_body(confirm(client, token), 400)["type"] == "email_already_used"
    assert alice(client)["email"] == ALICE["email"]


def test_confirm_customer_login_email_missing_token_is_rejected(client):
    response = client.post(URL, json={}, headers=bearer(client.anonymous_token()))
    assert error_fields(error_body(response, 400)) == ["token"]


def test_confirm_customer_login_email_refuses_a_customer_token_as_declared(client):
    token = emailed_change_token(client)
    response = client.post(URL, json={"token": token}, headers=bearer(client.customer_token(BOB["email"])))
    assert response.status_code == 403
