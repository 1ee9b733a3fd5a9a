"""The four customer calls of an Emporix storefront SDK that answered 404: each sent exactly as
the SDK sends it (method, path, query, headers, body), each answer checked against Emporix's own
reference document (``../shared/reference``, beside the repository) as well as against the
served spec (the ``client`` fixture).

- ``confirmSignup(token)``: ``GET /customer/{t}/signup/optin/{token}``, anonymous bearer;
- ``resendActivation({email})``: ``POST /customer/{t}/signup/optin/refresh_token``, JSON body;
- ``socialLogin``: ``POST /customer/{t}/socialLogin?code=&redirect_uri=&code_verifier=`` with
  the anonymous session in the ``session-id`` header, no body;
- ``exchangeAuthToken``: ``POST /customer/{t}/exchangeauthtoken?subjectAccessToken=``, no body.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from credmock.core.identity import pkce_challenge
from credmock.tools.contract import ContractChecker
from tests.conftest import ALICE, TENANT, bearer
from tests.reference import reference_checker, reference_path

REDIRECT_URI = "http://localhost:3000/auth/callback"
# What the SDK's HTTP client sends with every call.
SDK_HEADERS = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def reference() -> ContractChecker:
    checker = reference_checker()
    if checker is None:
        pytest.fail(f"the reference document is missing: {reference_path()}")
    return checker


def sdk_call(
    client: Any,
    reference: ContractChecker,
    method: str,
    path: str,
    *,
    token: str,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    json: Any = None,
) -> httpx.Response:
    """Send the call as the SDK does; check the request and the answer against the reference."""
    url = path + ("?" + urlencode(query) if query else "")
    sent_headers = {**SDK_HEADERS, **bearer(token), **(headers or {})}
    response = client.request(method, url, headers=sent_headers, json=json)
    request = response.request
    assert reference.describes(method, url), f"the reference has no {method} {path}"
    assert (
        reference.check_request(
            method=method, url=str(request.url), headers=dict(request.headers), body=request.content or None
        )
        == []
    )
    assert reference.check_httpx(response) == [], response.text
    return response


def sign_in_at_provider(client: Any, email: str, *, verifier: str | None = None) -> str:
    """The code the mock identity provider redirects back with after signing in as ``email``."""
    query = {"client_id": "storefront", "redirect_uri": REDIRECT_URI, "response_type": "code"}
    query |= {"state": "s-1", "email": email}
    if verifier is not None:
        query |= {"code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256"}
    response = client.get("/_mock/idp/authorize", params=query, follow_redirects=False)
    assert response.status_code == 302, response.text
    return re.search(r"[?&]code=([^&]+)", response.headers["location"]).group(1)


def test_sdk_confirm_signup_activates_and_answers_a_customer_token(client_with, reference) -> None:
    client = client_with(double_opt_in=(TENANT,))
    anonymous = client.anonymous_token()
    signup = client.post(
        f"/customer/{TENANT}/signup",
        headers=bearer(anonymous),
        json={"email": "optin@example.com", "password": "opt-in-pass-1"},
    )
    assert signup.status_code == 201, signup.text
    token = client.latest_email(kind="signup-confirmation", to="optin@example.com")["token"]

    response = sdk_call(client, reference, "GET", f"/customer/{TENANT}/signup/optin/{token}", token=anonymous)

    assert response.status_code == 200
    body = response.json()
    me = client.get(f"/customer/{TENANT}/me", headers=bearer(body["access_token"]))
    assert me.json()["accounts"] == [{"id": "optin@example.com"}]
    assert body["saas_token"] and body["refresh_token"]


def test_sdk_resend_activation_answers_202_and_sends_a_new_link(client_with, reference) -> None:
    client = client_with(double_opt_in=(TENANT,))
    anonymous = client.anonymous_token()
    client.post(
        f"/customer/{TENANT}/signup",
        headers=bearer(anonymous),
        json={"email": "later@example.com", "password": "opt-in-pass-1"},
    )
    first = client.latest_email(kind="signup-confirmation")["token"]

    response = sdk_call(
        client,
        reference,
        "POST",
        f"/customer/{TENANT}/signup/optin/refresh_token",
        token=anonymous,
        json={"email": "later@example.com"},
    )

    assert response.status_code == 202
    assert response.content == b""
    assert client.latest_email(kind="signup-confirmation")["token"] != first


def test_sdk_social_login_answers_a_session_with_the_provider_tokens(client, reference) -> None:
    anonymous = client.post("/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"}).json()
    verifier = secrets.token_urlsafe(48)
    code = sign_in_at_provider(client, ALICE["email"], verifier=verifier)

    response = sdk_call(
        client,
        reference,
        "POST",
        f"/customer/{TENANT}/socialLogin",
        token=anonymous["access_token"],
        query={"code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier},
        headers={"session-id": anonymous["session_id"]},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["session_id"] == anonymous["session_id"]  # the anonymous session (and its cart) goes on
    assert body["social_id_token"].count(".") == 2 and body["social_access_token"].count(".") == 2
    me = client.get(f"/customer/{TENANT}/me", headers=bearer(body["access_token"]))
    assert me.json()["id"] == ALICE["id"]  # linked by email to the existing account


def test_sdk_exchange_auth_token_answers_a_session(client, reference) -> None:
    code = sign_in_at_provider(client, "exchanged@example.com")
    provider = client.post(
        "/_mock/idp/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
    ).json()

    response = sdk_call(
        client,
        reference,
        "POST",
        f"/customer/{TENANT}/exchangeauthtoken",
        token=client.anonymous_token(),
        query={"subjectAccessToken": provider["access_token"]},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["subject_access_token"] == provider["access_token"]
    me = client.get(f"/customer/{TENANT}/me", headers=bearer(body["access_token"]))
    assert me.json()["accounts"] == [{"id": "exchanged@example.com"}]  # created at the first exchange
