"""Shared test fixtures.

``client`` is the in-process test client of a fresh app, with Connexion's response validation
on, wrapped so that every response it returns is also checked against the OpenAPI document
that describes its path (contract, storefront endpoints or mock API), and its status against
those Emporix's reference declares for the operation (``tests/reference.py``): a test fails on
any non-conforming response.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import httpx
import pytest

from credmock.app import (
    CONTRACT_SPEC,
    IDP_SPEC,
    MOCK_API_SPEC,
    STOREFRONT_SPEC,
    CredmockApp,
    create_app,
    load_spec,
)
from credmock.settings import Settings
from credmock.tools.contract import ContractChecker
from tests.reference import undeclared_status

TENANT = "demo"
ALICE = {"email": "alice@example.com", "password": "alice-pass-1", "id": "10000001"}
BOB = {"email": "bob@example.com", "password": "bob-pass-2", "id": "10000002"}
DAVE_OF_ACME = {"email": "dave@acme.example", "password": "dave-pass-4", "id": "20000001"}

# The 401 bodies of the real service (Apigee).
INVALID_TOKEN_FAULT = {
    "fault": {"faultstring": "Invalid access token", "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}
}
EXPIRED_TOKEN_FAULT = {
    "fault": {
        "faultstring": "Access Token expired",
        "detail": {"errorcode": "keymanagement.service.access_token_expired"},
    }
}
# Authorization headers that carry no usable token: each must give INVALID_TOKEN_FAULT.
BAD_AUTHORIZATIONS = {
    "missing": {},
    "bearer-alone": {"Authorization": "Bearer"},
    "basic": {"Authorization": "Basic x"},
    "unknown": {"Authorization": "Bearer no-such-token"},
}
# The store fixtures (stores, redis_server, store_urls), for any test module that needs them.
pytest_plugins = ["tests.stores"]

ERROR_TYPE = re.compile(r"^[a-z]+(_[a-z]+)*$")


@pytest.fixture(scope="session")
def checkers() -> list[ContractChecker]:
    specs = (CONTRACT_SPEC, STOREFRONT_SPEC, MOCK_API_SPEC, IDP_SPEC)
    return [ContractChecker(load_spec(name)) for name in specs]


class ContractClient:
    """The app's test client; each response is checked against the document describing it."""

    def __init__(self, app: CredmockApp, checkers: list[ContractChecker]) -> None:
        self._client = app.test_client()
        self._checkers = checkers
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self._client.request(method, url, **kwargs)
        for checker in self._checkers:
            if checker.describes(method, url):
                violations = checker.check_httpx(response)
                assert not violations, f"{method} {url} -> {response.status_code}: {violations}"
        undeclared = undeclared_status(method, url, response.status_code)
        assert undeclared is None, f"{undeclared}: {response.text}"
        assert response.status_code < 500, f"{method} {url} -> {response.status_code} {response.text}"
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    # Helpers a test reads better with -----------------------------------------------------

    def anonymous_token(self, tenant: str = TENANT) -> str:
        response = self.post("/_mock/tokens", json={"tenant": tenant, "kind": "anonymous"})
        assert response.status_code == 201, response.text
        return response.json()["access_token"]

    def customer_token(self, email: str = ALICE["email"], tenant: str = TENANT, **extra: Any) -> str:
        response = self.post(
            "/_mock/tokens", json={"tenant": tenant, "kind": "customer", "email": email, **extra}
        )
        assert response.status_code == 201, response.text
        return response.json()["access_token"]

    def latest_email(self, **filters: str) -> dict[str, Any]:
        response = self.get("/_mock/outbox/latest", params=filters)
        assert response.status_code == 200, response.text
        return response.json()

    def outbox(self, **filters: str) -> list[dict[str, Any]]:
        return self.get("/_mock/outbox", params=filters).json()

    def advance_clock(self, seconds: float) -> None:
        response = self.post("/_mock/clock", json={"advanceSeconds": seconds})
        assert response.status_code == 200, response.text

    def can_log_in(self, email: str, password: str, tenant: str = TENANT) -> bool:
        """Whether a customer token is issued for these credentials (the password is checked)."""
        response = self.post(
            "/_mock/tokens", json={"tenant": tenant, "kind": "customer", "email": email, "password": password}
        )
        assert response.status_code in (201, 400, 404), response.text
        return response.status_code == 201


def error_body(response: httpx.Response, status: int) -> dict[str, Any]:
    """The ``ErrorMessage`` of a response expected to have ``status``, checked for its conventions."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert ERROR_TYPE.match(body["type"]), body
    return body


def error_fields(body: dict[str, Any]) -> list[str]:
    return [detail["field"] for detail in body.get("details", [])]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def settings() -> Settings:
    return Settings(validate_responses=True, seed=1234)


@pytest.fixture
def app(settings: Settings) -> CredmockApp:
    return create_app(settings)


@pytest.fixture
def client(app: CredmockApp, checkers: list[ContractClient]) -> Iterator[ContractClient]:
    yield ContractClient(app, checkers)


@pytest.fixture
def client_with(checkers: list[ContractChecker]) -> Callable[..., ContractClient]:
    """A client of an app whose settings differ from the test default by ``overrides``."""

    def make(**overrides: Any) -> ContractClient:
        return ContractClient(create_app(Settings(validate_responses=True, seed=1234, **overrides)), checkers)

    return make


# A real browser ------------------------------------------------------------------------------

# Set to 1 where a missing browser must fail the browser tests (the project's own CI, .ci/run);
# elsewhere they are skipped with the reason.
REQUIRE_BROWSER_ENV = "CREDMOCK_REQUIRE_BROWSER"
# Flags for a headless chromium run as root in a container, with no traffic of its own.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_unavailable(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE_BROWSER_ENV, "").strip().lower() in ("1", "true", "yes"):
        required = f"{REQUIRE_BROWSER_ENV}=1 requires it: run scripts/install-browser.sh"
        pytest.fail(f"{reason}; {required}", pytrace=False)
    pytest.skip(f"{reason}: run scripts/install-browser.sh (as root) to run the browser tests")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's headless chromium driven by Playwright (a ``playwright.sync_api.Browser``), one for
    the session; give each test its own ``chromium.new_context()``. Nothing is downloaded."""
    executable = shutil.which("chromium")
    if executable is None:
        browser_unavailable("Debian's chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("the playwright package is not installed (make install-dev)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
