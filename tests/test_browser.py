"""A real headless browser: a page on one origin runs the password-reset flow with ``fetch``
against credmock on another origin, and the test reads the outcome from the page (issue 3, §2).

Browser: Debian's ``chromium`` (``scripts/install-browser.sh``), driven by Playwright with
``executable_path``; nothing is downloaded. Without it the test is skipped with the reason on
a developer's machine, and fails in CI (``CI=true``), where ``.ci/run`` installs it.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlencode

import httpx
import pytest

from credmock.settings import Settings
from credmock.testing import LiveServer
from tests.conftest import ALICE, TENANT

PAGES = Path(__file__).parent / "browser"
NEW_PASSWORD = "n3w-browser-secret"
PAGE_TIMEOUT_MS = 20_000
# Flags for a headless chromium run as root in a container, with no traffic of its own.
LAUNCH_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; .ci/run installs it with scripts/install-browser.sh", pytrace=False)
    pytest.skip(f"{reason}: run scripts/install-browser.sh (as root) to run the browser test")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless chromium (Playwright Browser) with a fresh profile, for this module."""
    executable = shutil.which("chromium")
    if executable is None:
        browser_unavailable("Debian's chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=LAUNCH_FLAGS)
        yield browser
        browser.close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_site(directory: Path) -> Iterator[str]:
    """``directory`` served over HTTP on a free loopback port; yields the site's base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="static-site")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run_page(browser: Any, url: str) -> dict[str, Any]:
    """Open ``url``, wait until the page has written its result, and return it."""
    context = browser.new_context()
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.goto(url)
        page.wait_for_selector("#result:not([data-state=running])", timeout=PAGE_TIMEOUT_MS)
        result = json.loads(page.text_content("#result") or "{}")
        result["state"] = page.get_attribute("#result", "data-state")
        result["console"] = console
        return result
    finally:
        context.close()


def test_reset_password_from_page_on_other_origin_new_password_works(chromium):
    with LiveServer(Settings(seed=7)) as mock, static_site(PAGES) as site:
        query = urlencode(
            {
                "api": mock.base_url,
                "tenant": TENANT,
                "email": ALICE["email"],
                "oldPassword": ALICE["password"],
                "newPassword": NEW_PASSWORD,
            }
        )
        result = run_page(chromium, f"{site}/reset.html?{query}")
        login_after = httpx.post(
            f"{mock.base_url}/_mock/tokens",
            json={"tenant": TENANT, "kind": "customer", "email": ALICE["email"], "password": NEW_PASSWORD},
        )

    assert result["state"] == "done", result
    assert result["pageOrigin"] != mock.base_url  # another port: another origin, so CORS applies
    assert result["statuses"] == {
        "anonymousToken": 200,
        "requestReset": 204,
        "latestEmail": 200,
        "resetPassword": 204,
        "oldPasswordLogin": 401,
        "newPasswordLogin": 200,
        "changePassword": 204,
        "withoutToken": 401,
    }, result
    assert result["emailTo"] == ALICE["email"]
    assert result["withoutToken"] == {"status": 401, "errorcode": "oauth.v2.InvalidAccessToken"}
    assert login_after.status_code == 201  # the server agrees: the new password is the password
