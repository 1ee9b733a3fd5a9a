"""The pytest plugin (credmock/tools/pytest_plugin.py), used as a user uses it: inner pytest runs with
``pytester``, the plugin loaded through its ``pytest11`` entry point, as ``pip install`` leaves it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PLUGIN_DOC = Path(__file__).resolve().parent.parent / "docs" / "pytest-plugin.md"


def documented_example() -> str:
    """The first python block of docs/pytest-plugin.md, verbatim."""
    match = re.search(r"```python\n(.*?)```", PLUGIN_DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert match, "docs/pytest-plugin.md: no python example"
    return match.group(1)


def test_credmock_url_documented_example_passes(pytester: pytest.Pytester):
    pytester.makepyfile(test_documented_example=documented_example())
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_credmock_fixtures_fresh_state_between_tests(pytester: pytest.Pytester):
    pytester.makepyfile(
        test_state="""
        import httpx

        ERIN = {"email": "erin@example.com", "password": "erin-pass-5"}
        STATE = {}

        def anonymous_header(client):
            params = {"tenant": "demo", "client_id": "shop"}
            token = client.get("/customerlogin/auth/anonymous/login", params=params).json()["access_token"]
            return {"Authorization": f"Bearer {token}"}

        def test_first_changes_everything(credmock_url, credmock_app):
            shop = httpx.Client(base_url=credmock_url)
            shop.headers.update(anonymous_header(shop))
            assert shop.post("/customer/demo/signup", json=ERIN).status_code == 201
            reset = shop.post("/customer/demo/password/reset", json={"email": ERIN["email"]})
            assert reset.status_code == 204
            credmock_app.backend.advance_clock(600)
            STATE["headers"] = dict(shop.headers)

        def test_second_sees_fresh_state_in_process(credmock_client, credmock_outbox, credmock_app):
            headers = anonymous_header(credmock_client)
            login = credmock_client.post("/customer/demo/login", json=ERIN, headers=headers)
            assert login.status_code == 401
            assert credmock_outbox.emails() == []
            assert credmock_app.backend.clock.offset == 0

        def test_third_sees_fresh_state_live(credmock_url):
            old_token = {"Authorization": STATE["headers"]["authorization"]}
            assert httpx.get(f"{credmock_url}/customer/demo/me", headers=old_token).status_code == 401
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)


def test_credmock_outbox_latest_token_without_email_fails_the_test(pytester: pytest.Pytester):
    pytester.makepyfile(
        test_outbox="""
        def test_no_email(credmock_outbox):
            credmock_outbox.latest_token(to="nobody@example.com")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*credmock sent no email with to='nobody@example.com'*"])


def test_credmock_settings_ini_options_load_the_fixtures_file(pytester: pytest.Pytester):
    pytester.makeini(
        """
        [pytest]
        credmock_fixtures = data/customers.yaml
        credmock_seed = 5
        """
    )
    (pytester.path / "data").mkdir()
    (pytester.path / "data" / "customers.yaml").write_text(
        "tenants:\n  shop:\n    customers:\n      - {email: ivy@shop.example, password: ivy-pass-9}\n"
    )
    pytester.makepyfile(
        test_ini="""
        def login(client, tenant, email, password):
            anon = client.get(
                "/customerlogin/auth/anonymous/login", params={"tenant": tenant, "client_id": "shop"}
            ).json()["access_token"]
            return client.post(
                f"/customer/{tenant}/login",
                json={"email": email, "password": password},
                headers={"Authorization": f"Bearer {anon}"},
            ).status_code

        def test_own_fixtures(credmock_client, credmock_settings):
            assert credmock_settings.seed == 5
            assert login(credmock_client, "shop", "ivy@shop.example", "ivy-pass-9") == 200
            assert login(credmock_client, "demo", "alice@example.com", "alice-pass-1") == 401
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_credmock_settings_fixture_override_applies(pytester: pytest.Pytester):
    pytester.makeconftest(
        """
        import pytest
        from credmock.settings import Settings

        @pytest.fixture(scope="session")
        def credmock_settings():
            return Settings(anonymous_token_lifetime=60)
        """
    )
    pytester.makepyfile(
        test_override="""
        def test_short_tokens(credmock_client):
            response = credmock_client.get(
                "/customerlogin/auth/anonymous/login", params={"tenant": "demo", "client_id": "shop"}
            )
            assert response.json()["expires_in"] == 60
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_credmock_fixtures_add_no_warning_to_the_users_suite(pytester: pytest.Pytester):
    """A fresh interpreter, as a user's suite runs: every fixture used, any warning an error."""
    pytester.makepyfile(
        test_quiet="""
        import httpx

        def test_every_fixture(credmock_client, credmock_url, credmock_outbox, credmock_app):
            params = {"tenant": "demo", "client_id": "shop"}
            token = credmock_client.get("/customerlogin/auth/anonymous/login", params=params).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            body = {"email": "alice@example.com"}
            reset = credmock_client.post("/customer/demo/password/reset", json=body, headers=headers)
            assert reset.status_code == 204
            assert credmock_outbox.latest_token(to="alice@example.com")
            url = f"{credmock_url}/customer/demo/password/reset/update"
            assert httpx.post(url, json={"token": 1}, headers=headers).status_code == 400
        """
    )
    result = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)
    assert "warnings summary" not in result.stdout.str()
