"""The storefront endpoints (spec/storefront.yaml), one operation at a time, in process.

Every response is checked against spec/storefront.yaml by the ``client`` fixture.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from credmock.app import CONTRACT_SPEC, STOREFRONT_SPEC, load_spec, mount_spec
from credmock.core.messages import PASSWORD_RESET
from tests.conftest import (
    ALICE,
    BOB,
    DAVE_OF_ACME,
    INVALID_TOKEN_FAULT,
    TENANT,
    ContractClient,
    bearer,
    error_body,
    error_fields,
)

ANONYMOUS_LOGIN = "/customerlogin/auth/anonymous/login"
ANONYMOUS_REFRESH = "/customerlogin/auth/anonymous/refresh"
LOGIN_FAILED = {
    "fault": {"faultstring": "Invalid credentials", "detail": {"errorcode": "invalid_credentials"}}
}


def anonymous_login(client: ContractClient, tenant: str = TENANT) -> dict[str, Any]:
    response = client.get(ANONYMOUS_LOGIN, params={"tenant": tenant, "client_id": "storefront-key"})
    assert response.status_code == 200, response.text
    return response.json()


def login(client: ContractClient, email: str, password: str, tenant: str = TENANT) -> dict[str, Any]:
    anonymous = anonymous_login(client, tenant)["access_token"]
    response = client.post(
        f"/customer/{tenant}/login", json={"email": email, "password": password}, headers=bearer(anonymous)
    )
    assert response.status_code == 200, response.text
    return response.json()


def profile(client: ContractClient, token: str, tenant: str = TENANT) -> dict[str, Any]:
    response = client.get(f"/customer/{tenant}/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


# GET /customerlogin/auth/anonymous/login ------------------------------------------------------


def test_anonymous_login_returns_the_real_token_fields(client):
    body = anonymous_login(client)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert body["refresh_token_expires_in"] == 86399
    assert body["scope"] == "tenant=demo"
    assert body["sessionId"] and body["refresh_token"] and body["access_token"]


def test_anonymous_login_token_is_accepted_by_the_credential_operations(client):
    token = anonymous_login(client)["access_token"]
    response = client.post(
        "/customer/demo/password/reset", json={"email": ALICE["email"]}, headers=bearer(token)
    )
    assert response.status_code == 204
    assert client.latest_email(to=ALICE["email"])["kind"] == PASSWORD_RESET


def test_anonymous_login_accepts_the_session_context_parameters(client):
    context = {"currency": "EUR", "siteCode": "main", "language": "EN", "targetLocation": "DE"}
    response = client.get(ANONYMOUS_LOGIN, params={"tenant": "demo", "client_id": "key", **context})
    assert response.status_code == 200


def test_anonymous_login_each_call_starts_a_new_session(client):
    assert anonymous_login(client)["sessionId"] != anonymous_login(client)["sessionId"]


@pytest.mark.parametrize(
    "params",
    [{"tenant": "demo"}, {"client_id": "key"}, {"tenant": "Demo!", "client_id": "key"}],
    ids=["no-client-id", "no-tenant", "malformed-tenant"],
)
def test_anonymous_login_bad_query_is_400(client, params):
    error_body(client.get(ANONYMOUS_LOGIN, params=params), 400)


# GET /customerlogin/auth/anonymous/refresh ----------------------------------------------------


def refresh_anonymous(client: ContractClient, token: str, tenant: str = TENANT, by: str = "refresh_token"):
    """The anonymous refresh by ``refresh_token``, or by the deprecated ``anonymous_token``."""
    return client.get(ANONYMOUS_REFRESH, params={"tenant": tenant, by: token, "client_id": "key"})


# The token each refresh parameter takes, from an anonymous token response.
REFRESHED_BY = {"refresh_token": "refresh_token", "anonymous_token": "access_token"}


@pytest.mark.parametrize("by", REFRESHED_BY)
def test_anonymous_refresh_keeps_the_session_with_a_new_working_token(client, by):
    first = anonymous_login(client)
    response = refresh_anonymous(client, first[REFRESHED_BY[by]], by=by)
    assert response.status_code == 200
    second = response.json()
    assert second["sessionId"] == first["sessionId"]
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] == 3599
    assert profile(client, second["access_token"])["firstName"] == "Anonymous"


@pytest.mark.parametrize("by", REFRESHED_BY)
def test_anonymous_refresh_works_after_the_access_token_expired(client, by):
    first = anonymous_login(client)
    client.advance_clock(3600)
    assert client.get("/customer/demo/me", headers=bearer(first["access_token"])).status_code == 401
    response = refresh_anonymous(client, first[REFRESHED_BY[by]], by=by)
    assert response.status_code == 200
    assert profile(client, response.json()["access_token"])["id"] == "00000000"


def test_anonymous_refresh_spent_refresh_token_is_400(client):
    refresh_token = anonymous_login(client)["refresh_token"]
    assert refresh_anonymous(client, refresh_token).status_code == 200
    body = error_body(refresh_anonymous(client, refresh_token), 400)
    assert body["type"] == "invalid_token"
    assert error_fields(body) == ["refresh_token"]


def test_anonymous_refresh_expired_refresh_token_is_400(client):
    refresh_token = anonymous_login(client)["refresh_token"]
    client.advance_clock(86399)
    assert error_body(refresh_anonymous(client, refresh_token), 400)["type"] == "invalid_token"


def test_anonymous_refresh_customer_refresh_token_is_400(client):
    refresh_token = login(client, **credentials(ALICE))["refresh_token"]
    assert error_body(refresh_anonymous(client, refresh_token), 400)["type"] == "invalid_token"


def test_anonymous_refresh_other_tenant_is_400(client):
    refresh_token = anonymous_login(client, "acme")["refresh_token"]
    assert error_body(refresh_anonymous(client, refresh_token, "demo"), 400)["type"] == "invalid_token"


def test_anonymous_refresh_without_refresh_token_is_400(client):
    body = error_body(client.get(ANONYMOUS_REFRESH, params={"tenant": "demo", "client_id": "key"}), 400)
    assert error_fields(body) == ["refresh_token"]


def test_anonymous_refresh_by_anonymous_token_answers_without_refresh_token_and_chains(client):
    first = anonymous_login(client)
    second = refresh_anonymous(client, first["access_token"], by="anonymous_token").json()
    assert set(second) == {"token_type", "access_token", "expires_in", "sessionId", "scope"}
    third = refresh_anonymous(client, second["access_token"], by="anonymous_token")
    assert third.status_code == 200
    assert third.json()["sessionId"] == first["sessionId"]


def test_anonymous_refresh_by_anonymous_token_spends_its_refresh_token(client):
    first = anonymous_login(client)
    assert refresh_anonymous(client, first["access_token"], by="anonymous_token").status_code == 200
    assert error_body(refresh_anonymous(client, first["refresh_token"]), 400)["type"] == "invalid_token"
    body = error_body(refresh_anonymous(client, first["access_token"], by="anonymous_token"), 400)
    assert error_fields(body) == ["anonymous_token"]


@pytest.mark.parametrize("token", ["no-such-token", "customer"], ids=["unknown", "customer-token"])
def test_anonymous_refresh_by_anonymous_token_not_an_anonymous_token_is_400(client, token):
    if token == "customer":
        token = login(client, **credentials(ALICE))["access_token"]
    body = error_body(refresh_anonymous(client, token, by="anonymous_token"), 400)
    assert (body["type"], error_fields(body)) == ("invalid_token", ["anonymous_token"])


def test_anonymous_refresh_with_both_parameters_uses_the_refresh_token(client):
    first, other = anonymous_login(client), anonymous_login(client)
    params = {
        "tenant": TENANT,
        "client_id": "key",
        "refresh_token": first["refresh_token"],
        "anonymous_token": other["access_token"],
    }
    response = client.get(ANONYMOUS_REFRESH, params=params)
    assert response.status_code == 200
    assert response.json()["sessionId"] == first["sessionId"]


# POST /customer/{tenant}/signup ---------------------------------------------------------------


def credentials(customer: dict[str, str]) -> dict[str, str]:
    return {"email": customer["email"], "password": customer["password"]}


def signup(client: ContractClient, body: dict[str, Any], token: str | None = None):
    token = token or anonymous_login(client)["access_token"]
    return client.post("/customer/demo/signup", json=body, headers=bearer(token))


def test_signup_creates_a_customer_who_can_log_in(client):
    body = {
        "email": "erin@example.com",
        "password": "erin-pass-5",
        "customerDetails": {"firstName": "Erin", "lastName": "Eames", "preferredCurrency": "EUR"},
        "customerAddress": {"contactName": "Erin Eames", "street": "Platz der Republik", "country": "DE"},
    }
    response = signup(client, body)
    assert response.status_code == 201
    customer_id = response.json()["id"]
    me = profile(client, login(client, "erin@example.com", "erin-pass-5")["access_token"])
    assert me["id"] == customer_id
    assert (me["firstName"], me["lastName"]) == ("Erin", "Eames")
    assert me["accounts"] == [{"id": "erin@example.com"}]
    assert me["contactEmail"] == "erin@example.com"


def test_signup_separate_credentials_log_in_and_email_is_the_contact(client):
    body = {
        "email": "frank@example.com",
        "password": "frank-pass-6",
        "signup": {"email": "frank.login@example.com", "password": "frank-login-6"},
    }
    assert signup(client, body).status_code == 201
    me = profile(client, login(client, "frank.login@example.com", "frank-login-6")["access_token"])
    assert me["accounts"] == [{"id": "frank.login@example.com"}]
    assert me["contactEmail"] == "frank@example.com"


def test_signup_with_existing_email_answers_409_conflict_resource(client):
    response = signup(client, {"email": ALICE["email"], "password": "another-pass"})
    assert response.status_code == 409
    assert response.json() == {
        "status": 409,
        "type": "conflict_resource",
        "message": f"Duplicate account '{ALICE['email']}' for tenant 'demo'.",
    }


def test_signup_with_existing_email_in_another_case_answers_409(client):
    body = error_body(signup(client, {"email": "Alice@EXAMPLE.com", "password": "another-pass"}), 409)
    assert body["type"] == "conflict_resource"


def test_signup_with_existing_separate_login_email_answers_409_naming_it(client):
    body = {
        "email": "new.contact@example.com",
        "password": "another-pass",
        "signup": {"email": BOB["email"], "password": "another-pass"},
    }
    assert (
        error_body(signup(client, body), 409)["message"]
        == f"Duplicate account '{BOB['email']}' for tenant 'demo'."
    )


def test_signup_with_existing_email_leaves_the_account_as_it_was(client):
    assert signup(client, {"email": ALICE["email"], "password": "another-pass"}).status_code == 409
    assert login(client, **credentials(ALICE))["access_token"]


def test_signup_password_too_short_is_400(client):
    body = error_body(signup(client, {"email": "gina@example.com", "password": "abc"}), 400)
    assert error_fields(body) == ["password"]


def test_signup_missing_password_is_400(client):
    body = error_body(signup(client, {"email": "gina@example.com"}), 400)
    assert error_fields(body) == ["password"]


def test_signup_invalid_email_is_400(client):
    body = error_body(signup(client, {"email": "not-an-email", "password": "gina-pass-7"}), 400)
    assert error_fields(body) == ["email"]


def test_signup_separate_credentials_invalid_email_names_email(client):
    body = {
        "email": "not-an-email",
        "password": "frank-pass-6",
        "signup": {"email": "frank.login@example.com", "password": "frank-login-6"},
    }
    assert error_fields(error_body(signup(client, body), 400)) == ["email"]


def test_signup_without_token_is_401(client):
    response = client.post(
        "/customer/demo/signup", json={"email": "gina@example.com", "password": "gina-pass"}
    )
    assert response.status_code == 401


def test_signup_token_of_another_tenant_is_403(client):
    token = anonymous_login(client, "acme")["access_token"]
    error_body(signup(client, {"email": "gina@example.com", "password": "gina-pass-7"}, token), 403)


# POST /customer/{tenant}/login ----------------------------------------------------------------


def test_login_returns_the_real_token_fields(client):
    body = login(client, **credentials(ALICE))
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 2591999
    assert body["refresh_token_expires_in"] == 86399
    assert body["session_id"] and body["refresh_token"]
    # The deprecated camelCase fields older storefronts read carry the same values.
    assert (body["accessToken"], body["saasToken"]) == (body["access_token"], body["saas_token"])


def test_login_saas_token_is_a_jwt_naming_the_customer(client):
    saas_token = login(client, **credentials(ALICE))["saas_token"]
    header, claims, signature = saas_token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    assert decode(header)["alg"] == "HS256"
    assert decode(claims)["sub"] == ALICE["id"]
    assert decode(claims)["exp"] > 0 and signature


def test_login_token_is_accepted_by_the_credential_operations(client):
    token = login(client, **credentials(ALICE))["access_token"]
    response = client.post(
        "/customer/demo/password/change",
        json={"currentPassword": ALICE["password"], "newPassword": "alice-pass-new"},
        headers=bearer(token),
    )
    assert response.status_code == 204
    assert login(client, ALICE["email"], "alice-pass-new")["access_token"]


def test_login_email_is_case_insensitive(client):
    assert login(client, ALICE["email"].upper(), ALICE["password"])["access_token"]


@pytest.mark.parametrize(
    "email, password",
    [
        (ALICE["email"], "wrong-password"),
        ("nobody@example.com", ALICE["password"]),
        (BOB["email"], ALICE["password"]),
    ],
    ids=["wrong-password", "unknown-email", "another-customers-password"],
)
def test_login_wrong_credentials_is_401_the_same_for_all(client, email, password):
    anonymous = anonymous_login(client)["access_token"]
    response = client.post(
        "/customer/demo/login", json={"email": email, "password": password}, headers=bearer(anonymous)
    )
    assert response.status_code == 401
    assert response.json() == LOGIN_FAILED


def test_login_customer_of_another_tenant_is_401(client):
    anonymous = anonymous_login(client)["access_token"]
    response = client.post("/customer/demo/login", json=credentials(DAVE_OF_ACME), headers=bearer(anonymous))
    assert response.json() == LOGIN_FAILED


def test_login_missing_password_is_400(client):
    anonymous = anonymous_login(client)["access_token"]
    response = client.post("/customer/demo/login", json={"email": ALICE["email"]}, headers=bearer(anonymous))
    assert error_fields(error_body(response, 400)) == ["password"]


def test_login_without_token_is_401(client):
    response = client.post("/customer/demo/login", json=credentials(ALICE))
    assert response.status_code == 401
    assert response.json()["fault"]["faultstring"] == "Invalid access token"


def test_login_token_of_another_tenant_is_401_as_login_declares_no_403(client):
    anonymous = anonymous_login(client, "acme")["access_token"]
    response = client.post("/customer/demo/login", json=credentials(ALICE), headers=bearer(anonymous))
    assert (response.status_code, response.json()) == (401, INVALID_TOKEN_FAULT)


# GET /customer/{tenant}/refreshauthtoken ------------------------------------------------------


def refresh_customer(client: ContractClient, refresh_token: str, tenant: str = TENANT):
    anonymous = anonymous_login(client, tenant)["access_token"]
    return client.get(
        f"/customer/{tenant}/refreshauthtoken",
        params={"refreshToken": refresh_token},
        headers=bearer(anonymous),
    )


def test_refresh_customer_token_keeps_the_session_and_the_customer(client):
    first = login(client, **credentials(ALICE))
    response = refresh_customer(client, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["session_id"] == first["session_id"]
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] == 2591999
    assert profile(client, second["access_token"])["id"] == ALICE["id"]


def test_refresh_customer_token_keeps_the_scopes(client):
    token = refresh_customer(client, login(client, **credentials(ALICE))["refresh_token"]).json()[
        "access_token"
    ]
    response = client.post(
        "/customer/demo/me/accounts/internal/email/change",
        json={**credentials(ALICE), "newEmail": "alice.new@example.com"},
        headers=bearer(token),
    )
    assert response.status_code == 204  # needs customer.customerprofile_edit


def test_refresh_customer_token_spent_refresh_token_is_400(client):
    refresh_token = login(client, **credentials(ALICE))["refresh_token"]
    assert refresh_customer(client, refresh_token).status_code == 200
    body = error_body(refresh_customer(client, refresh_token), 400)
    assert error_fields(body) == ["refreshToken"]


def test_refresh_customer_token_anonymous_refresh_token_is_400(client):
    refresh_token = anonymous_login(client)["refresh_token"]
    assert error_body(refresh_customer(client, refresh_token), 400)["type"] == "invalid_token"


def test_refresh_customer_token_without_token_is_401(client):
    refresh_token = login(client, **credentials(ALICE))["refresh_token"]
    response = client.get("/customer/demo/refreshauthtoken", params={"refreshToken": refresh_token})
    assert response.status_code == 401


# GET /customer/{tenant}/validateauthtoken ------------------------------------------------------


def validate(client: ContractClient, token: str, tenant: str = TENANT):
    return client.get(f"/customer/{tenant}/validateauthtoken", headers=bearer(token))


def test_validate_token_tells_the_customer_session_and_time_left(client):
    session = login(client, **credentials(ALICE))
    client.advance_clock(100)
    response = validate(client, session["access_token"])
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["email"] == ALICE["email"]
    assert body["sessionId"] == session["session_id"]
    assert body["expires_in"] == session["expires_in"] - 100
    assert body["scope"].split()[-1] == "tenant=demo"
    assert "customer.customerprofile_edit" in body["scope"].split()


@pytest.mark.parametrize("ending", ["expired", "logged-out"])
def test_validate_token_no_longer_valid_is_401(client, ending):
    token = login(client, **credentials(ALICE))["access_token"]
    if ending == "expired":
        client.advance_clock(2591999)
    else:
        assert logout(client, token, token).status_code == 204
    response = validate(client, token)
    assert response.status_code == 401
    assert "fault" in response.json()


def test_validate_token_unknown_or_missing_token_is_401(client):
    assert validate(client, "no-such-token").json()["fault"]["faultstring"] == "Invalid access token"
    assert client.get("/customer/demo/validateauthtoken").status_code == 401


def test_validate_token_anonymous_token_is_401_as_validate_declares_no_403(client):
    response = validate(client, anonymous_login(client)["access_token"])
    assert (response.status_code, response.json()) == (401, INVALID_TOKEN_FAULT)


def test_validate_token_of_another_tenant_is_401_as_validate_declares_no_403(client):
    token = login(client, **credentials(DAVE_OF_ACME), tenant="acme")["access_token"]
    response = validate(client, token)
    assert (response.status_code, response.json()) == (401, INVALID_TOKEN_FAULT)


# GET /customer/{tenant}/logout ----------------------------------------------------------------


def logout(client: ContractClient, caller: str, access_token: str):
    return client.get("/customer/demo/logout", params={"accessToken": access_token}, headers=bearer(caller))


def test_logout_revokes_the_token_and_its_refresh_token(client):
    session = login(client, **credentials(ALICE))
    token = session["access_token"]
    assert logout(client, token, token).status_code == 204
    response = client.get("/customer/demo/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["fault"]["faultstring"] == "Invalid access token"
    assert refresh_customer(client, session["refresh_token"]).status_code == 400


def test_logout_ends_the_whole_session_refreshed_tokens_too(client):
    first = login(client, **credentials(ALICE))
    second = refresh_customer(client, first["refresh_token"]).json()
    assert logout(client, second["access_token"], second["access_token"]).status_code == 204
    assert client.get("/customer/demo/me", headers=bearer(first["access_token"])).status_code == 401


def test_logout_leaves_other_sessions_of_the_customer_alive(client):
    phone = login(client, **credentials(ALICE))["access_token"]
    laptop = login(client, **credentials(ALICE))["access_token"]
    assert logout(client, phone, phone).status_code == 204
    assert profile(client, laptop)["id"] == ALICE["id"]


def test_logout_token_of_another_customer_is_400_and_stays_valid(client):
    alice = login(client, **credentials(ALICE))["access_token"]
    bob = login(client, **credentials(BOB))["access_token"]
    body = error_body(logout(client, alice, bob), 400)
    assert error_fields(body) == ["accessToken"]
    assert profile(client, bob)["id"] == BOB["id"]


def test_logout_anonymous_token_is_401_as_logout_declares_no_403(client):
    anonymous = anonymous_login(client)["access_token"]
    response = logout(client, anonymous, anonymous)
    assert (response.status_code, response.json()) == (401, INVALID_TOKEN_FAULT)


def test_logout_twice_is_401(client):
    token = login(client, **credentials(ALICE))["access_token"]
    assert logout(client, token, token).status_code == 204
    assert logout(client, token, token).status_code == 401


# GET /customer/{tenant}/me --------------------------------------------------------------------


def test_get_profile_shows_the_customer_with_the_reference_defaults_and_last_login(client_with):
    client = client_with(clock_start=1_700_000_000)  # 2023-11-14T22:13:20Z
    me = profile(client, login(client, **credentials(BOB))["access_token"])
    assert me == {
        "id": BOB["id"],
        "customerNumber": BOB["id"],
        "firstName": "Bob",
        "lastName": "Berg",
        "contactEmail": "bob.berg@example.org",
        "preferredLanguage": "en_US",
        "preferredCurrency": "USD",
        "preferredSite": "main",
        "lastLogin": "2023-11-14T22:13:20.000Z",
        "accounts": [{"id": BOB["email"]}],
        "businessModel": "B2C",
        "mixins": {},
        "metadata": {"mixins": {}, "version": 1},
    }


def test_get_profile_anonymous_token_shows_the_anonymous_profile(client):
    me = profile(client, anonymous_login(client)["access_token"])
    assert (me["firstName"], me["lastName"], me["accounts"]) == ("Anonymous", "Anonymous", [])


def test_get_profile_shows_a_confirmed_email_change(client):
    token = login(client, **credentials(ALICE))["access_token"]
    response = client.post(
        "/customer/demo/me/accounts/internal/email/change",
        json={**credentials(ALICE), "newEmail": "alice.new@example.com", "syncContactEmail": True},
        headers=bearer(token),
    )
    assert response.status_code == 204
    assert profile(client, token)["accounts"] == [{"id": ALICE["email"]}]  # not before confirming
    confirm_token = client.latest_email(to="alice.new@example.com")["token"]
    anonymous = anonymous_login(client)["access_token"]
    response = client.post(
        "/customer/demo/me/accounts/internal/email/change/confirm",
        json={"token": confirm_token},
        headers=bearer(anonymous),
    )
    assert response.status_code == 204
    me = profile(client, token)
    assert me["accounts"] == [{"id": "alice.new@example.com"}]
    assert me["contactEmail"] == "alice.new@example.com"


def test_get_profile_without_token_is_401(client):
    assert client.get("/customer/demo/me").status_code == 401


def test_get_profile_token_of_another_tenant_is_403(client):
    token = login(client, **credentials(DAVE_OF_ACME), tenant="acme")["access_token"]
    error_body(client.get("/customer/demo/me", headers=bearer(token)), 403)


# Serving the storefront endpoints inside the contract's API -------------------------------------


def test_mount_spec_component_defined_differently_raises():
    contract, extra = load_spec(CONTRACT_SPEC), load_spec(STOREFRONT_SPEC)
    extra["components"]["schemas"]["ErrorMessage"]["required"] = ["status"]
    with pytest.raises(ValueError, match="components/schemas/ErrorMessage"):
        mount_spec(contract, extra, STOREFRONT_SPEC)


def test_mount_spec_path_served_twice_raises():
    contract = load_spec(CONTRACT_SPEC)
    with pytest.raises(ValueError, match="already served"):
        mount_spec(contract, load_spec(CONTRACT_SPEC), CONTRACT_SPEC)
