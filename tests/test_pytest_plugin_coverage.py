"""``pytest --credmock-coverage``: the session's API coverage after its tests, run as a user runs
it (an inner pytest with ``pytester``, the plugin loaded through its entry point)."""

from __future__ import annotations

import re

import pytest

from tests.test_pytest_plugin import PLUGIN_DOC, documented_example
from tests.test_readme import missing_lines

pytest_plugins = ["pytester"]

SUMMARY_TITLE = "credmock API coverage"


def documented_coverage_output() -> str:
    """The console block of the "Coverage" section of docs/pytest-plugin.md, from its title on."""
    section = PLUGIN_DOC.read_text(encoding="utf-8").split("## Coverage", 1)[1]
    block = re.search(r"```console\n(.*?)```", section, re.DOTALL)
    assert block, "docs/pytest-plugin.md: no console block in the Coverage section"
    return block.group(1).split(SUMMARY_TITLE, 1)[1]


def test_documented_coverage_output_is_what_the_documented_example_prints(pytester: pytest.Pytester):
    pytester.makepyfile(test_shop=documented_example())

    result = pytester.runpytest("--credmock-coverage")

    result.assert_outcomes(passed=1)
    printed = result.stdout.str()
    assert SUMMARY_TITLE in printed
    missing = missing_lines(documented_coverage_output(), printed.split(SUMMARY_TITLE, 1)[1])
    assert not missing, f"not printed: {missing}\nprinted:\n{printed}"


def test_coverage_counts_every_test_of_the_session_across_resets(pytester: pytest.Pytester):
    pytester.makepyfile(
        test_two="""
        import httpx

        def test_in_process(credmock_client):
            assert credmock_client.post("/customer/demo/password/reset", json={}).status_code == 401

        def test_live(credmock_url):
            assert httpx.post(f"{credmock_url}/customer/demo/password/reset", json={}).status_code == 401
        """
    )

    result = pytester.runpytest("--credmock-coverage")

    result.assert_outcomes(passed=2)
    result.stdout.re_match_lines([r"POST-customer-request-reset-password +2 +4 +3 +25% +204, 400, 403"])
    result.stdout.re_match_lines(
        [r" +POST-customer-request-reset-password +401 +oauth.v2.InvalidAccessToken +\(2\)"]
    )


def test_no_coverage_summary_unless_asked_or_when_no_fixture_was_used(pytester: pytest.Pytester):
    pytester.makepyfile(
        test_uses="def test_uses(credmock_client):\n    credmock_client.get('/customer/demo/me')\n",
        test_plain="def test_plain():\n    assert True\n",
    )

    assert SUMMARY_TITLE not in pytester.runpytest("test_uses.py").stdout.str()
    assert SUMMARY_TITLE not in pytester.runpytest("--credmock-coverage", "test_plain.py").stdout.str()
    assert SUMMARY_TITLE in pytester.runpytest("--credmock-coverage", "test_uses.py").stdout.str()


def test_coverage_under_xdist_adds_up_every_workers_requests(pytester: pytest.Pytester):
    pytester.makepyfile(
        test_spread="""
        import pytest

        @pytest.mark.parametrize("attempt", range(4))
        def test_no_token(credmock_client, attempt):
            assert credmock_client.post("/customer/demo/password/reset", json={}).status_code == 401
        """
    )

    result = pytester.runpytest("-n", "2", "--credmock-coverage")

    result.assert_outcomes(passed=4)
    assert "DeprecationWarning" not in result.stdout.str()
    result.stdout.re_match_lines([r"POST-customer-request-reset-password +4 +4 +3 +25% +204, 400, 403"])
    result.stdout.re_match_lines(
        [r" +POST-customer-request-reset-password +401 +oauth.v2.InvalidAccessToken +\(4\)"]
    )
