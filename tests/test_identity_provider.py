"""The mock identity provider (/_mock/idp) and the storefront operations that trust it:
``socialLogin`` (its authorization code) and ``exchangeauthtoken`` (its access token)."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from credmock.core.identity import new_signing_key, pkce_challenge, sign
from credmock.tools.testing import ServerProcess
from tests.conftest import ALICE, TENANT, bearer, error_body, error_fields

REDIRECT_URI = "http://localhost:3000/auth/callback"
CLIENT_ID = "storefront-web"


def authorize(client: Any, **query: str) -> httpx.Response:
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code", **query}
    return client.get("/_mock/idp/authorize", params=params, follow_redirects=False)


def code_for(client: Any, email: str, **query: str) -> str:
    response = authorize(client, email=email, **query)
    assert response.status_code == 302, response.text
    return re.search(r"[?&]code=([^&]+)", response.headers["location"]).group(1)


def social_login(client: Any, code: str, *, redirect_uri: str = REDIRECT_URI, **query: str) -> httpx.Response:
    return client.post(
        f"/customer/{TENANT}/socialLogin",
        params={"code": code, "redirect_uri": redirect_uri, **query},
        headers=bearer(client.anonymous_token()),
    )


def provider_tokens(client: Any, email: str, **query: str) -> dict[str, Any]:
    code = code_for(client, email, **query)
    response = client.post(
        "/_mock/idp/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
    )
    assert response.status_code == 200, response.text
    return response.json()


def exchange(client: Any, subject_token: str, **query: str) -> httpx.Response:
    return client.post(
        f"/customer/{TENANT}/exchangeauthtoken",
        params={"subjectAccessToken": subject_token, **query},
        headers=bearer(client.anonymous_token()),
    )


def invalid_grant(response: httpx.Response) -> str:
    return error_body(response, 400)["type"]


# The authorize page ------------------------------------------------------------------------------


def test_authorize_page_offers_known_customers_and_carries_the_request(client) -> None:
    response = authorize(client, state='"><script>alert(1)</script>', nonce="n-1")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert ALICE["email"] in page and "dave@acme.example" in page
    assert '<input type="hidden" name="redirect_uri" value="http://localhost:3000/auth/callback">' in page
    assert "<script>alert(1)</script>" not in page  # what the request carries is escaped
    assert "&quot;&gt;&lt;script&gt;" in page


def test_authorize_with_an_email_redirects_with_code_and_state_keeping_the_uri_query(client) -> None:
    response = authorize(client, email=ALICE["email"], state="xyz", redirect_uri=REDIRECT_URI + "?shop=1")

    assert response.status_code == 302
    location = response.headers["location"]
    assert re.fullmatch(re.escape(REDIRECT_URI) + r"\?shop=1&code=[A-Za-z0-9]+&state=xyz", location)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"redirect_uri": "javascript:alert(1)"}, "redirect_uri"),
        ({"redirect_uri": "/relative"}, "redirect_uri"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "code_challenge"),
        ({"code_challenge": "a" * 43}, "code_challenge_method"),
        ({"email": "not an email"}, "email"),
        ({"email": "x@example.com", "claims": "[1]"}, "claims"),
    ],
    ids=["script-uri", "relative-uri", "short-challenge", "challenge-without-method", "bad-email", "claims"],
)
def test_authorize_request_that_cannot_be_served_names_the_field(client, query, field) -> None:
    body = error_body(authorize(client, **query), 400)

    assert error_fields(body) == [field]


def test_plain_pkce_is_refused(client) -> None:
    response = authorize(
        client, code_challenge="a" * 43, code_challenge_method="plain", email="x@example.com"
    )

    assert response.status_code == 400


# socialLogin ------------------------------------------------------------------------------------


def test_first_social_login_creates_the_customer_the_next_signs_them_in(client) -> None:
    first = social_login(client, code_for(client, "Sam@Example.com", given_name="Sam", family_name="Stone"))
    again = social_login(client, code_for(client, "sam@example.com"))

    assert first.status_code == 200 and again.status_code == 200
    me = [
        client.get(f"/customer/{TENANT}/me", headers=bearer(r.json()["access_token"])).json()
        for r in (first, again)
    ]
    assert me[0]["id"] == me[1]["id"]
    assert (me[0]["firstName"], me[0]["lastName"]) == ("Sam", "Stone")
    emails = [customer["email"] for customer in client.get(f"/_mock/tenants/{TENANT}/customers").json()]
    assert emails == [ALICE["email"], "bob@example.com", "carol@example.com", "Sam@example.com"]


def test_a_code_works_once(client) -> None:
    code = code_for(client, ALICE["email"])

    assert social_login(client, code).status_code == 200
    assert invalid_grant(social_login(client, code)) == "invalid_grant"


def test_another_redirect_uri_is_refused_and_spends_the_code(client) -> None:
    code = code_for(client, ALICE["email"])

    wrong = social_login(client, code, redirect_uri="http://localhost:3000/elsewhere")

    assert invalid_grant(wrong) == "invalid_grant"
    assert "redirect_uri" in wrong.json()["message"]
    assert invalid_grant(social_login(client, code)) == "invalid_grant"


@pytest.mark.parametrize(
    ("challenge", "verifier", "accepted"),
    [
        (True, "right", True),
        (True, "wrong", False),
        (True, None, False),
        (False, "right", False),
    ],
    ids=["right-verifier", "wrong-verifier", "missing-verifier", "verifier-without-challenge"],
)
def test_pkce_verifier_is_checked_when_sent(client, challenge, verifier, accepted) -> None:
    right = secrets.token_urlsafe(48)
    query = {"code_challenge": pkce_challenge(right), "code_challenge_method": "S256"} if challenge else {}
    code = code_for(client, ALICE["email"], **query)
    sent = (
        {}
        if verifier is None
        else {"code_verifier": right if verifier == "right" else secrets.token_urlsafe(48)}
    )

    response = social_login(client, code, **sent)

    if accepted:
        assert response.status_code == 200
    else:
        assert invalid_grant(response) == "invalid_grant"


def test_an_expired_code_is_refused(client) -> None:
    code = code_for(client, ALICE["email"])
    client.advance_clock(121)

    assert invalid_grant(social_login(client, code)) == "invalid_grant"


def test_malformed_session_id_header_is_named(client) -> None:
    response = client.post(
        f"/customer/{TENANT}/socialLogin",
        params={"code": code_for(client, ALICE["email"]), "redirect_uri": REDIRECT_URI},
        headers={**bearer(client.anonymous_token()), "session-id": "a b/c"},
    )

    assert error_fields(error_body(response, 400)) == ["session-id"]


def test_social_login_activates_an_account_waiting_for_its_activation_link(client_with) -> None:
    client = client_with(double_opt_in=(TENANT,))
    client.post(
        f"/customer/{TENANT}/signup",
        headers=bearer(client.anonymous_token()),
        json={"email": "waiting@example.com", "password": "waiting-pass-1"},
    )

    assert social_login(client, code_for(client, "waiting@example.com")).status_code == 200
    login = client.post(
        f"/customer/{TENANT}/login",
        headers=bearer(client.anonymous_token()),
        json={"email": "waiting@example.com", "password": "waiting-pass-1"},
    )
    assert login.status_code == 200


def test_social_tokens_are_signed_by_the_published_key(client) -> None:
    response = social_login(client, code_for(client, ALICE["email"], nonce="n-0S6", given_name="Alice"))
    discovery = client.get("/_mock/idp/.well-known/openid-configuration").json()
    keys = KeySet.import_key_set(client.get("/_mock/idp/jwks").json())

    id_token = jwt.decode(response.json()["social_id_token"], keys, algorithms=["RS256"]).claims
    access = jwt.decode(response.json()["social_access_token"], keys, algorithms=["RS256"]).claims

    assert discovery["issuer"] == id_token["iss"] == access["iss"]
    assert discovery["jwks_uri"].endswith("/_mock/idp/jwks")
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert (id_token["aud"], id_token["nonce"], id_token["email"]) == (CLIENT_ID, "n-0S6", ALICE["email"])
    assert id_token["given_name"] == "Alice"
    assert access["aud"] == ["storefront"]


def test_a_second_app_in_the_process_still_redirects_with_an_html_page(client_with) -> None:
    """Connexion adds to the headers a handler answers with: shared header dicts once made every
    later redirect of the process a JSON one."""
    for client in (client_with(), client_with()):
        provider_tokens(client, ALICE["email"])
        response = authorize(client, email=ALICE["email"])

        assert response.headers["content-type"] == "text/html"


# The token endpoint ---------------------------------------------------------------------------------


def test_token_endpoint_answers_rfc_6749_errors(client) -> None:
    code = code_for(client, ALICE["email"])
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}

    assert client.post("/_mock/idp/token", data={**form, "grant_type": "password"}).json()["error"] == (
        "unsupported_grant_type"
    )
    assert (
        client.post("/_mock/idp/token", data={**form, "client_id": "another"}).json()["error"]
        == "invalid_grant"
    )
    assert client.post("/_mock/idp/token", data=form).json()["error"] == "invalid_grant"  # spent above


def test_control_token_guards_sign_in_but_not_the_public_keys(client_with) -> None:
    client = client_with(control_token="s3cret")

    assert authorize(client, email=ALICE["email"]).status_code == 401
    assert authorize(client, email=ALICE["email"], controlToken="s3cret").status_code == 302
    page = authorize(client, controlToken="s3cret")
    assert '<input type="hidden" name="controlToken" value="s3cret">' in page.text
    assert client.get("/_mock/idp/jwks").status_code == 200
    assert client.get("/_mock/idp/.well-known/openid-configuration").status_code == 200


# exchangeauthtoken -----------------------------------------------------------------------------------


def test_exchange_signs_in_the_customer_of_the_token(client) -> None:
    response = exchange(client, provider_tokens(client, ALICE["email"])["access_token"])

    assert response.status_code == 200
    me = client.get(f"/customer/{TENANT}/me", headers=bearer(response.json()["access_token"]))
    assert me.json()["id"] == ALICE["id"]


SUBJECT_TOKEN_FAULT = {
    "fault": {"faultstring": "Invalid subject access token", "detail": {"errorcode": "invalid_subject_token"}}
}


@pytest.mark.parametrize(
    "claims",
    [{"iss": "https://issuer.example"}, {"aud": "another-api"}, {"exp": 1}, {"email": None}],
    ids=["other-issuer", "other-audience", "expired", "no-email"],
)
def test_exchange_refuses_a_token_the_rules_do_not_accept(client, claims) -> None:
    token = provider_tokens(client, ALICE["email"], claims=json.dumps(claims))["access_token"]

    response = exchange(client, token)

    assert response.status_code == 401
    # Told apart from a refused bearer token: the client knows which token to replace.
    assert response.json() == SUBJECT_TOKEN_FAULT


def test_exchange_refuses_a_token_signed_by_another_key(client) -> None:
    genuine = jwt.decode(
        provider_tokens(client, ALICE["email"])["access_token"],
        KeySet.import_key_set(client.get("/_mock/idp/jwks").json()),
        algorithms=["RS256"],
    ).claims
    forged = sign(new_signing_key(), genuine)

    assert exchange(client, forged).status_code == 401
    assert exchange(client, "not.a.jwt").status_code == 401


def test_exchange_expires_with_the_mock_clock(client) -> None:
    token = provider_tokens(client, ALICE["email"])["access_token"]
    client.advance_clock(3601)

    assert exchange(client, token).status_code == 401


def test_exchange_config_must_exist(client_with) -> None:
    client = client_with(exchange_configs=("site_PL",))
    token = provider_tokens(client, ALICE["email"])["access_token"]

    assert exchange(client, token, config="site_PL").status_code == 200
    assert exchange(client, token, config="default").status_code == 200
    assert error_fields(error_body(exchange(client, token, config="site_XX"), 400)) == ["config"]


# Across workers ------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "redis"])
def workers(request: pytest.FixtureRequest, tmp_path) -> Iterator[ServerProcess]:
    """`credmock serve --workers 2` on a shared store."""
    if request.param == "sqlite":
        state = f"sqlite:///{tmp_path / 'state.db'}"
        arguments = ["--workers", "2", "--state", state]
    else:
        arguments = [
            "--workers",
            "2",
            "--state",
            request.getfixturevalue("redis_server").url,
            "--reset-on-start",
        ]
    with ServerProcess(arguments) as server:
        yield server


def fresh(server: ServerProcess) -> httpx.Client:
    """A client on a new connection each request: the workers take turns."""
    return httpx.Client(base_url=server.base_url, timeout=30, headers={"Connection": "close"})


def test_codes_keys_and_spending_hold_across_workers(workers: ServerProcess) -> None:
    with fresh(workers) as http:
        anonymous = http.post("/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"}).json()[
            "access_token"
        ]

        def redeem(code: str) -> int:
            with fresh(workers) as own:
                return own.post(
                    f"/customer/{TENANT}/socialLogin",
                    params={"code": code, "redirect_uri": REDIRECT_URI},
                    headers=bearer(anonymous),
                ).status_code

        codes = [code_for(http, ALICE["email"]) for _ in range(6)]
        redeemed = [redeem(code) for code in codes]
        shared = code_for(http, ALICE["email"])
        with ThreadPoolExecutor(8) as pool:
            racing = list(pool.map(redeem, [shared] * 8))
        jwks = {json.dumps(http.get("/_mock/idp/jwks").json(), sort_keys=True) for _ in range(6)}
        subject = provider_tokens(http, ALICE["email"])["access_token"]
        exchanged = [
            http.post(
                f"/customer/{TENANT}/exchangeauthtoken",
                params={"subjectAccessToken": subject},
                headers=bearer(anonymous),
            ).status_code
            for _ in range(6)
        ]

    assert redeemed == [200] * 6  # a code issued by one worker is redeemed by the other
    assert sorted(racing) == [200] + [400] * 7  # and spent once, whoever races for it
    assert len(jwks) == 1  # one key for every worker
    assert exchanged == [200] * 6
