"""Tenants not in the fixtures: logged on first use, or refused with ``--strict-tenants``."""

from __future__ import annotations

import logging

import httpx
import pytest

from credmock.app import build_domain
from credmock.settings import Settings
from credmock.tools.cli import build_parser, settings_from_arguments
from credmock.tools.testing import ServerProcess
from tests.conftest import ALICE, bearer, error_body
from tests.test_cli import serve_and_fail
from tests.test_storefront import ANONYMOUS_LOGIN, anonymous_login, credentials, login

INVALID_TENANT = {
    "status": 400,
    "type": "bad_request",
    "message": "The tenant information provided with the request is not valid.",
}
UNKNOWN_TENANT_LOG = "tenant 'dmeo' is not in the fixtures (known: demo, acme); it starts empty"


def tenant_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if "not in the fixtures" in record.getMessage()]


def test_unknown_tenant_first_use_is_logged(client, caplog):
    caplog.set_level(logging.WARNING, logger="credmock")
    anonymous_login(client, "dmeo")
    anonymous_login(client, "dmeo")
    client.post("/_mock/tokens", json={"tenant": "dmeo", "kind": "anonymous"})
    assert tenant_log(caplog) == [UNKNOWN_TENANT_LOG]


def test_known_tenant_use_is_not_logged(client, caplog):
    caplog.set_level(logging.WARNING, logger="credmock")
    anonymous_login(client, "demo")
    login(client, **credentials(ALICE))
    assert tenant_log(caplog) == []


def test_unknown_tenant_is_logged_again_after_a_reset(client, caplog):
    caplog.set_level(logging.WARNING, logger="credmock")
    anonymous_login(client, "dmeo")
    assert client.post("/_mock/reset").status_code == 204
    anonymous_login(client, "dmeo")
    assert tenant_log(caplog) == [UNKNOWN_TENANT_LOG] * 2


def test_unknown_tenant_without_fixtures_names_no_known_tenant(caplog):
    caplog.set_level(logging.WARNING, logger="credmock")
    build_domain(Settings(fixtures_path=None)).anonymous_login("shop")
    assert tenant_log(caplog) == ["tenant 'shop' is not in the fixtures (known: none); it starts empty"]


def test_serve_logs_unknown_tenant_on_stderr_once():
    with ServerProcess() as server:
        for _ in range(2):
            response = httpx.get(
                f"{server.base_url}{ANONYMOUS_LOGIN}",
                params={"tenant": "dmeo", "client_id": "key"},
                timeout=10,
            )
            assert response.status_code == 200
        output = server.stop()
    [line] = [line for line in output.splitlines() if "not in the fixtures" in line]
    assert line.endswith(UNKNOWN_TENANT_LOG)


# --strict-tenants --------------------------------------------------------------------------------


@pytest.fixture
def strict(client_with):
    return client_with(strict_tenants=True)


def test_strict_tenants_refuses_unknown_tenant(strict, caplog):
    response = strict.get(ANONYMOUS_LOGIN, params={"tenant": "dmeo", "client_id": "key"})
    assert error_body(response, 400) == INVALID_TENANT
    response = strict.post("/_mock/tokens", json={"tenant": "dmeo", "kind": "anonymous"})
    assert error_body(response, 400) == INVALID_TENANT
    assert tenant_log(caplog) == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/customer/dmeo/login", credentials(ALICE)),
        ("POST", "/customer/dmeo/signup", {"email": "new@example.com", "password": "new-pass-1"}),
        ("POST", "/customer/dmeo/password/reset", {"email": ALICE["email"]}),
        ("GET", "/customer/dmeo/me", None),
    ],
    ids=["login", "signup", "password-reset", "profile"],
)
def test_strict_tenants_refuses_unknown_tenant_in_the_path(strict, method, path, body):
    token = anonymous_login(strict)["access_token"]
    response = strict.request(method, path, json=body, headers=bearer(token))
    assert error_body(response, 400) == INVALID_TENANT


def test_strict_tenants_serves_the_fixture_tenants(strict):
    assert login(strict, **credentials(ALICE))["access_token"]
    assert anonymous_login(strict, "acme")["access_token"]


def test_strict_tenants_keeps_a_token_of_another_known_tenant_refused(strict):
    token = anonymous_login(strict, "acme")["access_token"]
    response = strict.post("/customer/demo/login", json=credentials(ALICE), headers=bearer(token))
    assert response.status_code == 401  # login declares no 403


def test_strict_tenants_serve_option_sets_the_setting():
    assert settings_from_arguments(build_parser().parse_args(["serve", "--strict-tenants"])).strict_tenants
    assert not settings_from_arguments(build_parser().parse_args(["serve"])).strict_tenants


def test_serve_banner_names_the_strict_tenants():
    with ServerProcess(["--strict-tenants"]) as server:
        output = server.stop()
    assert "strict tenants: only demo, acme; others answer 400" in output


def test_strict_tenants_without_fixtures_fails_at_start_in_one_line():
    result = serve_and_fail("--strict-tenants", "--no-fixtures")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "--strict-tenants" in line and "fixtures" in line
