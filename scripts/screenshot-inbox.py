"""Regenerate docs/images/inbox.png: the inbox page of a seeded credmock with a few emails,
in Debian's headless chromium (scripts/install-browser.sh).

    .venv/bin/python scripts/screenshot-inbox.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from credmock.settings import Settings
from credmock.tools.testing import LiveServer

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "images" / "inbox.png"
LAUNCH_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def send_emails(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        anonymous = http.post("/_mock/tokens", json={"tenant": "demo", "kind": "anonymous"}).json()
        bearer = {"Authorization": f"Bearer {anonymous['access_token']}"}
        for email in ("bob@example.com", "alice@example.com"):
            http.post("/customer/demo/password/reset", json={"email": email}, headers=bearer)
        customer = http.post(
            "/_mock/tokens", json={"tenant": "demo", "kind": "customer", "email": "bob@example.com"}
        ).json()
        http.post(
            "/customer/demo/me/accounts/internal/email/change",
            json={"email": "bob@example.com", "password": "bob-pass-2", "newEmail": "bob.new@example.com"},
            headers={"Authorization": f"Bearer {customer['access_token']}"},
        )
        http.post("/customer/demo/password/reset", json={"email": "alice@example.com"}, headers=bearer)


def main() -> int:
    executable = shutil.which("chromium")
    if executable is None:
        print(
            "screenshot-inbox: Debian's chromium is missing: run scripts/install-browser.sh", file=sys.stderr
        )
        return 1
    with LiveServer(Settings(seed=7)) as mock, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=LAUNCH_FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 720})
        page.goto(f"{mock.base_url}/_mock/inbox")
        page.wait_for_selector("text=No email yet")
        send_emails(mock.base_url)
        page.wait_for_selector(".row:has-text('bob.new@example.com')")
        page.click(".row >> nth=0")
        page.frame_locator("iframe").get_by_role("link").first.wait_for()
        page.wait_for_timeout(1200)  # the highlight of new rows fades
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUTPUT))
        browser.close()
    print(f"screenshot-inbox: wrote {OUTPUT.relative_to(ROOT)} ({OUTPUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
