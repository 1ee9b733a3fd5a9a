"""A real headless browser: a page on one origin runs the password-reset flow with ``fetch``
against credmock on another origin, and the test reads the outcome from the page.

Browser: the ``chromium`` fixture of ``tests/conftest.py`` (Debian's chromium driven by
Playwright; skipped with the reason when missing, unless ``CREDMOCK_REQUIRE_BROWSER=1``).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from credmock.settings import Settings
from credmock.tools.testing import LiveServer
from tests.conftest import ALICE, TENANT

PAGES = Path(__file__).parent / "browser"
NEW_PASSWORD = "n3w-browser-secret"
PAGE_TIMEOUT_MS = 20_000


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
