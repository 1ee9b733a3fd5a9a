"""CORS: a storefront on another origin calls the mock from a browser (issue 3, section 2)."""

from __future__ import annotations

import pytest
from starlette.middleware.cors import CORSMiddleware
from starlette.testclient import TestClient

from credmock.app import create_app
from credmock.http.cors import PathCORSMiddleware, middleware_options
from credmock.settings import Settings
from credmock.tools.cli import build_parser, main, settings_from_arguments
from tests.conftest import ALICE, ContractClient, bearer

SHOP = "http://shop.example:3000"
LOCAL_SHOP = "http://localhost:3000"  # a storefront in development


def preflight(
    client: ContractClient,
    path: str,
    method: str = "POST",
    headers: str | None = None,
    origin: str = SHOP,
    **extra: str,
):
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method, **extra}
    if headers is not None:
        request_headers["Access-Control-Request-Headers"] = headers
    return client.request("OPTIONS", path, headers=request_headers)


@pytest.mark.parametrize(
    ("path", "origin"),
    [
        ("/customer/demo/password/change", SHOP),  # contract, customer token required
        ("/customer/demo/password/reset", SHOP),  # contract, anonymous token required
        ("/_mock/outbox/latest", LOCAL_SHOP),
        ("/_mock/tokens", LOCAL_SHOP),
        ("/no/such/path", SHOP),
    ],
)
def test_preflight_any_path_answered_without_token(client, path, origin):
    response = preflight(
        client, path, headers="authorization,content-type,emporix-tenant,x-trace-id", origin=origin
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert (
        response.headers["access-control-allow-headers"]
        == "authorization,content-type,emporix-tenant,x-trace-id"
    )
    assert "POST" in response.headers["access-control-allow-methods"].split(", ")
    assert "Origin" in response.headers["vary"]


def test_preflight_private_network_request_allowed(client):
    response = preflight(
        client, "/customer/demo/password/reset", **{"Access-Control-Request-Private-Network": "true"}
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-private-network"] == "true"


def test_request_reset_password_from_other_origin_echoes_origin(client):
    token = client.anonymous_token()

    response = client.post(
        "/customer/demo/password/reset",
        json={"email": ALICE["email"]},
        headers={"Origin": SHOP, **bearer(token)},
    )

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == SHOP
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["vary"] == "Origin"


def test_change_password_without_token_401_readable_by_page(client):
    response = client.post(
        "/customer/demo/password/change",
        json={"email": ALICE["email"], "currentPassword": ALICE["password"], "newPassword": "n3w-secret"},
        headers={"Origin": SHOP},
    )

    assert response.status_code == 401
    assert response.json()["fault"]["detail"]["errorcode"] == "oauth.v2.InvalidAccessToken"
    assert response.headers["access-control-allow-origin"] == SHOP
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "WWW-Authenticate" in response.headers["access-control-expose-headers"]


def test_request_reset_password_invalid_body_400_readable_by_page(client):
    token = client.anonymous_token()

    response = client.post(
        "/customer/demo/password/reset", json={"mail": "x"}, headers={"Origin": SHOP, **bearer(token)}
    )

    assert response.status_code == 400
    assert response.json()["status"] == 400
    assert response.headers["access-control-allow-origin"] == SHOP


def test_get_latest_email_empty_outbox_404_readable_by_page(client):
    response = client.get("/_mock/outbox/latest", headers={"Origin": LOCAL_SHOP})

    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == LOCAL_SHOP


@pytest.mark.parametrize("origin", [SHOP, "https://evil.example", "http://localhost.evil.example"])
def test_mock_api_from_public_origin_is_not_readable_by_page(client, origin):
    """A public page open in the developer's browser must not read the outbox of a local mock."""
    assert preflight(client, "/_mock/tokens", origin=origin).status_code == 400
    response = client.get("/_mock/outbox", headers={"Origin": origin})
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("origin", ["http://127.0.0.1:8000", "http://[::1]:5173", "https://localhost"])
def test_mock_api_from_loopback_origin_is_readable_by_page(client, origin):
    response = client.get("/_mock/outbox", headers={"Origin": origin})
    assert response.headers["access-control-allow-origin"] == origin


def test_mock_api_with_control_token_is_open_to_any_origin(checkers):
    guarded = ContractClient(create_app(Settings(control_token="s3cret-token")), checkers)
    response = guarded.get("/_mock/outbox", headers={"Origin": SHOP, "X-Mock-Control-Token": "s3cret-token"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP


def test_request_without_origin_gets_no_cors_headers(client):
    response = client.get("/_mock/health")

    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


@pytest.fixture
def restricted_client(checkers) -> ContractClient:
    return ContractClient(create_app(Settings(cors_origins=(SHOP, "http://localhost:5173"))), checkers)


def test_preflight_restricted_origins_listed_origin_echoed(restricted_client):
    response = preflight(restricted_client, "/customer/demo/password/reset", headers="authorization")

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP


def test_preflight_restricted_origins_other_origin_refused(restricted_client):
    response = restricted_client.request(
        "OPTIONS",
        "/customer/demo/password/reset",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_get_health_restricted_origins_other_origin_not_allowed(restricted_client):
    response = restricted_client.get("/_mock/health", headers={"Origin": "http://evil.example"})

    assert response.status_code == 200  # served, but the browser hides it from the page
    assert "access-control-allow-origin" not in response.headers


def test_serve_cors_origin_repeatable():
    arguments = build_parser().parse_args(
        ["serve", "--cors-origin", SHOP, "--cors-origin", "https://preview.shop.example"]
    )

    assert settings_from_arguments(arguments).cors_origins == (SHOP, "https://preview.shop.example")


def test_serve_cors_origin_default_any_origin():
    assert settings_from_arguments(build_parser().parse_args(["serve"])).cors_origins == ("*",)


@pytest.mark.parametrize("origin", ["localhost:3000", "http://localhost:3000/", "http://shop.example/app"])
def test_serve_cors_origin_not_an_origin_exits_2(origin, capsys):
    assert main(["serve", "--port", "1", "--cors-origin", origin]) == 2
    assert f"CORS origin {origin!r} is not an origin" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("method", "path", "answer_headers"),
    [
        ("POST", "/customer/demo/password/reset", []),
        ("GET", "/_mock/outbox", [(b"content-type", b"application/json")]),
        ("GET", "/docs/", [(b"vary", b"Accept-Encoding"), (b"vary", b"Cookie")]),
        ("OPTIONS", "/customer/demo/password/reset", [(b"allow", b"POST")]),
    ],
)
def test_answer_to_a_request_without_origin_as_starlette_gives_it(method, path, answer_headers):
    """Without an Origin the answer carries what Starlette's CORS middleware adds, and only that."""

    async def answering(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": list(answer_headers)})
        await send({"type": "http.response.body", "body": b""})

    def answer_of(app) -> list[tuple[bytes, bytes]]:
        return TestClient(app).request(method, path).headers.raw

    ours = PathCORSMiddleware(answering, origins=["*"], control_token=None)
    starlette = CORSMiddleware(answering, **middleware_options(["*"]))

    assert answer_of(ours) == answer_of(starlette)
