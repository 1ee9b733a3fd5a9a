"""pytest fixtures for testing against credmock, like moto: ``pip install credmock`` registers
them (entry point ``pytest11``), nothing to import.

- ``credmock_client``: an in-process HTTP client (httpx API) of the mock.
- ``credmock_url``: the base URL of a live mock on a free loopback port, for code that makes
  its own HTTP calls (an SDK, a browser, a subprocess).
- ``credmock_outbox``: reads the emails the mock sent, e.g. ``latest_token(to=...)``.
- ``credmock_app``: the app; ``credmock_app.domain`` holds the rules and state (customers, tokens, clock).

Each test starts from fresh state: the fixtures, no tokens, an empty outbox, the clock as
started. One app (and at most one live server) serves the whole session and is reset before
each test that uses these fixtures; that is what keeps them fast.

Settings: ini options ``credmock_fixtures`` (a customers YAML file, relative to the rootdir)
and ``credmock_seed``, or override the session-scoped ``credmock_settings`` fixture.

``pytest --credmock-coverage`` prints the API coverage of the session after its tests (the
table of ``credmock coverage``): the per-test reset keeps it, so it counts every test's requests.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# credmock's web stack is imported when a fixture is first used, not when pytest loads this
# plugin: test sessions that never use credmock do not pay for it.
if TYPE_CHECKING:
    from starlette.testclient import TestClient

    from credmock.app import CredmockApp
    from credmock.core.messages import Email
    from credmock.settings import Settings
    from credmock.tools.testing import LiveServer


# The session's app, once a fixture has built it: the coverage summary reads it.
_SESSION_APP = pytest.StashKey["CredmockApp"]()
# Under pytest-xdist: the coverage each worker handed over (controller), and its key (worker).
_WORKER_REPORTS = pytest.StashKey[list]()
_WORKER_REPORT = "credmock_coverage"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("credmock").addoption(
        "--credmock-coverage",
        action="store_true",
        help="after the tests, print the API coverage they reached on the credmock fixtures",
    )
    parser.addini(
        "credmock_fixtures",
        "credmock: YAML file of tenants and customers (relative to the rootdir); default: the built-in one",
    )
    parser.addini("credmock_seed", "credmock: seed of the tokens and ids the mock generates")


@pytest.fixture(scope="session")
def credmock_settings(pytestconfig: pytest.Config) -> Settings:
    """The mock's settings, from the ini options; override this fixture for any other setting."""
    from credmock.settings import Settings

    fixtures = pytestconfig.getini("credmock_fixtures")
    seed = pytestconfig.getini("credmock_seed")
    if seed and not str(seed).strip().isdigit():
        raise pytest.UsageError(f"credmock_seed must be a whole number, not {seed!r}")
    seed_value = int(seed) if seed else None
    if not fixtures:
        return Settings(seed=seed_value)
    return Settings(fixtures_path=pytestconfig.rootpath / Path(fixtures), seed=seed_value)


def _import_web_stack() -> None:
    """Import connexion without adding its import-time deprecation notice to the user's suite:
    connexion 3.3 imports jsonschema's ``RefResolver`` (deprecated there), which credmock cannot
    change. Only warnings raised by connexion's own modules while importing are dropped."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"connexion(\.|$)")
        import connexion  # noqa: F401


@pytest.fixture(scope="session")
def _credmock_session_app(credmock_settings: Settings, pytestconfig: pytest.Config) -> CredmockApp:
    _import_web_stack()
    from credmock.app import create_app

    app = create_app(credmock_settings)
    if pytestconfig.getoption("credmock_coverage"):
        app.inspection.coverage.clear()  # a shared store may hold an earlier run's
    pytestconfig.stash[_SESSION_APP] = app
    return app


@pytest.fixture(scope="session")
def _credmock_live_server(_credmock_session_app: CredmockApp) -> Iterator[LiveServer]:
    from credmock.tools.testing import LiveServer

    with LiveServer(app=_credmock_session_app) as server:
        yield server


@pytest.fixture
def credmock_app(_credmock_session_app: CredmockApp) -> CredmockApp:
    """The session's app, reset to fresh state for this test (the API coverage of the session
    stays)."""
    _credmock_session_app.reset(keep_coverage=True)
    return _credmock_session_app


@pytest.fixture
def credmock_client(credmock_app: CredmockApp) -> TestClient:
    """An in-process client of the mock: ``credmock_client.get("/customer/demo/me", ...)``."""
    return credmock_app.test_client()


@pytest.fixture
def credmock_url(credmock_app: CredmockApp, _credmock_live_server: LiveServer) -> str:
    """Base URL of a live mock (``http://127.0.0.1:<free port>``) in fresh state."""
    return _credmock_live_server.base_url


class Outbox:
    """The emails the mock sent in this test, newest first."""

    def __init__(self, app: CredmockApp) -> None:
        self._outbox = app.outbox

    def emails(
        self, *, to: str | None = None, kind: str | None = None, tenant: str | None = None
    ) -> list[Email]:
        return self._outbox.find(to=to, kind=kind, tenant=tenant)

    def latest(self, *, to: str | None = None, kind: str | None = None, tenant: str | None = None) -> Email:
        """The newest matching email; fails the test when there is none."""
        email = self._outbox.latest(to=to, kind=kind, tenant=tenant)
        if email is None:
            filters = ", ".join(
                f"{k}={v!r}" for k, v in {"to": to, "kind": kind, "tenant": tenant}.items() if v
            )
            pytest.fail(f"credmock sent no email{' with ' + filters if filters else ''}", pytrace=False)
        return email

    def latest_token(
        self, *, to: str | None = None, kind: str | None = None, tenant: str | None = None
    ) -> str:
        """The token of the newest matching email (password reset or email change)."""
        return self.latest(to=to, kind=kind, tenant=tenant).token


@pytest.fixture
def credmock_outbox(credmock_app: CredmockApp) -> Outbox:
    """The emails the mock sent: ``credmock_outbox.latest_token(to="alice@example.com")``."""
    return Outbox(credmock_app)


def _session_report(app: CredmockApp) -> dict:
    """The body of the app's ``GET /_mock/coverage``."""
    from credmock.settings import CONTROL_TOKEN_HEADER

    token = app.settings.control_token
    headers = {CONTROL_TOKEN_HEADER: token} if token else {}
    return app.test_client().get("/_mock/coverage", headers=headers).json()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On a pytest-xdist worker: hand the worker's coverage to the controller, which prints."""
    config = session.config
    app = config.stash.get(_SESSION_APP, None)
    if app is not None and config.getoption("credmock_coverage") and hasattr(config, "workeroutput"):
        config.workeroutput[_WORKER_REPORT] = _session_report(app)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist's controller: a worker ended, with its coverage when its tests used the mock."""
    report = getattr(node, "workeroutput", {}).get(_WORKER_REPORT)
    if report is not None:
        node.config.stash.setdefault(_WORKER_REPORTS, []).append(report)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The API coverage of the session, as ``credmock coverage`` prints it, when asked for and a
    test used the fixtures (under pytest-xdist: every worker's, added up)."""
    if not config.getoption("credmock_coverage") or hasattr(config, "workeroutput"):
        return
    reports = list(config.stash.get(_WORKER_REPORTS, []))
    app = config.stash.get(_SESSION_APP, None)
    if app is not None:
        reports.append(_session_report(app))
    if not reports:
        return
    _import_web_stack()  # merging reads the contract's operations
    from credmock.tools.coverage import format_report, merge_reports

    terminalreporter.write_sep("-", "credmock API coverage")
    terminalreporter.write_line(format_report(reports[0] if len(reports) == 1 else merge_reports(reports)))
