"""End-to-end flows, as a storefront or a CI job runs them: the same tests run in-process,
against `credmock serve` started as a user starts it, and, with CREDMOCK_BASE_URL set, against
any running credmock (for example `make run` in another terminal).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from credmock.app import create_app
from credmock.settings import Settings
from credmock.tools.testing import ServerProcess

EXTERNAL_BASE_URL = os.environ.get("CREDMOCK_BASE_URL")
# In-process on each engine (Settings.engine), `credmock serve` on the default one, and
# `credmock serve --workers 2` on each shared store.
TARGETS = (
    ["external"]
    if EXTERNAL_BASE_URL
    else ["in-process", "in-process-flask", "live", "live-workers-sqlite", "live-workers-redis"]
)


@pytest.fixture(scope="module")
def live_server() -> Iterator[ServerProcess]:
    with ServerProcess(["--validate-responses"]) as server:
        yield server


@pytest.fixture(scope="module")
def live_workers_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    state = f"sqlite:///{tmp_path_factory.mktemp('flows') / 'state.db'}"
    with ServerProcess(["--validate-responses", "--workers", "2", "--state", state]) as server:
        yield server


@pytest.fixture(scope="module")
def live_workers_redis(redis_server) -> Iterator[ServerProcess]:
    arguments = ["--validate-responses", "--workers", "2", "--state", redis_server.url, "--reset-on-start"]
    with ServerProcess(arguments) as server:
        yield server


@pytest.fixture(params=TARGETS)
def http(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """An HTTP client on a freshly reset credmock."""
    if request.param.startswith("in-process"):
        engine = "flask" if request.param.endswith("flask") else Settings().engine
        client: httpx.Client = create_app(Settings(validate_responses=True, engine=engine)).test_client()
    else:
        server = "live_server" if request.param == "live" else request.param.replace("-", "_")
        base_url = EXTERNAL_BASE_URL or request.getfixturevalue(server).base_url
        client = httpx.Client(base_url=base_url, timeout=10)
    with client:
        assert client.post("/_mock/reset").status_code == 204
        yield client


def anonymous_token(http: httpx.Client, tenant: str = "demo") -> dict[str, str]:
    response = http.post("/_mock/tokens", json={"tenant": tenant, "kind": "anonymous"})
    assert response.status_code == 201
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def login(http: httpx.Client, email: str, password: str, tenant: str = "demo") -> httpx.Response:
    """A customer token for email and password, the password checked as a login checks it."""
    return http.post(
        "/_mock/tokens", json={"tenant": tenant, "kind": "customer", "email": email, "password": password}
    )


def latest_token(http: httpx.Client, to: str, kind: str) -> str:
    response = http.get("/_mock/outbox/latest", params={"to": to, "kind": kind})
    assert response.status_code == 200, response.text
    email = response.json()
    assert email["token"] in email["body"] and email["token"] in email["link"]
    return email["token"]


def test_forgot_password_flow_only_new_password_logs_in(http: httpx.Client) -> None:
    anonymous = anonymous_token(http)
    old_session = {
        "Authorization": f"Bearer {login(http, 'alice@example.com', 'alice-pass-1').json()['access_token']}"
    }

    assert (
        http.post(
            "/customer/demo/password/reset", json={"email": "alice@example.com"}, headers=anonymous
        ).status_code
        == 204
    )
    token = latest_token(http, "alice@example.com", "password-reset")
    reset = http.post(
        "/customer/demo/password/reset/update",
        json={"token": token, "password": "brand-new-1"},
        headers=anonymous,
    )
    assert reset.status_code == 204

    assert login(http, "alice@example.com", "alice-pass-1").status_code == 400
    assert login(http, "alice@example.com", "brand-new-1").status_code == 201
    # The reset revoked the sessions the customer had.
    revoked = http.post(
        "/customer/demo/password/change",
        json={"currentPassword": "brand-new-1", "newPassword": "x" * 8},
        headers=old_session,
    )
    assert revoked.status_code == 401
    assert revoked.json()["fault"]["detail"]["errorcode"] == "oauth.v2.InvalidAccessToken"
    # The token was single use.
    again = http.post(
        "/customer/demo/password/reset/update",
        json={"token": token, "password": "other-pass-2"},
        headers=anonymous,
    )
    assert again.status_code == 400


def test_change_email_flow_new_email_logs_in_old_does_not(http: httpx.Client) -> None:
    customer = {
        "Authorization": f"Bearer {login(http, 'bob@example.com', 'bob-pass-2').json()['access_token']}"
    }
    request = http.post(
        "/customer/demo/me/accounts/internal/email/change",
        json={
            "email": "bob@example.com",
            "password": "bob-pass-2",
            "newEmail": "robert@example.com",
            "syncContactEmail": True,
        },
        headers=customer,
    )
    assert request.status_code == 204
    assert login(http, "bob@example.com", "bob-pass-2").status_code == 201, (
        "nothing changes before confirming"
    )

    token = latest_token(http, "robert@example.com", "email-change")
    confirm = http.post(
        "/customer/demo/me/accounts/internal/email/change/confirm",
        json={"token": token},
        headers=anonymous_token(http),
    )
    assert confirm.status_code == 204

    assert login(http, "bob@example.com", "bob-pass-2").status_code == 400
    assert login(http, "robert@example.com", "bob-pass-2").status_code == 201
    bob = next(c for c in http.get("/_mock/tenants/demo/customers").json() if c["id"] == "10000002")
    assert (bob["email"], bob["contactEmail"]) == ("robert@example.com", "robert@example.com")


def test_change_password_flow_current_password_required(http: httpx.Client) -> None:
    customer = {
        "Authorization": f"Bearer {login(http, 'carol@example.com', 'carol-pass-3').json()['access_token']}"
    }
    wrong = http.post(
        "/customer/demo/password/change",
        json={"currentPassword": "not-it", "newPassword": "carol-new-3"},
        headers=customer,
    )
    assert wrong.status_code == 400
    right = http.post(
        "/customer/demo/password/change",
        json={"currentPassword": "carol-pass-3", "newPassword": "carol-new-3"},
        headers=customer,
    )
    assert right.status_code == 204
    assert login(http, "carol@example.com", "carol-new-3").status_code == 201
    assert login(http, "carol@example.com", "carol-pass-3").status_code == 400


def test_reset_password_flow_token_expires_after_an_hour(http: httpx.Client) -> None:
    anonymous = anonymous_token(http)
    http.post("/customer/demo/password/reset", json={"email": "alice@example.com"}, headers=anonymous)
    token = latest_token(http, "alice@example.com", "password-reset")

    assert http.post("/_mock/clock", json={"advanceSeconds": 3601}).status_code == 200

    # The anonymous token lives 3599 s: it has expired too, and says so.
    stale = http.post(
        "/customer/demo/password/reset/update",
        json={"token": token, "password": "too-late-1"},
        headers=anonymous,
    )
    assert stale.status_code == 401
    assert stale.json()["fault"]["faultstring"] == "Access Token expired"

    expired = http.post(
        "/customer/demo/password/reset/update",
        json={"token": token, "password": "too-late-1"},
        headers=anonymous_token(http),
    )
    assert expired.status_code == 400
    assert expired.json()["type"] == "invalid_token"
