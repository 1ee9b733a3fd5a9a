"""The inbox page (GET /_mock/inbox): the outbox in a browser. Served as a self-contained,
guarded page; in a real headless chromium it shows a reset email as it arrives, opens it with
its parts, copies its token and follows its link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from credmock.settings import Settings
from credmock.tools.testing import LiveServer
from tests.conftest import ALICE, BOB, TENANT
from tests.test_browser import PAGE_TIMEOUT_MS, PAGES, static_site

CONTROL_TOKEN = "inbox-guard-1"


def request_reset(base_url: str, email: str, control_token: str | None = None) -> None:
    guard = {"X-Mock-Control-Token": control_token} if control_token else {}
    with httpx.Client(base_url=base_url, timeout=30, headers=guard) as http:
        token = http.post("/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"}).json()
        token = token["access_token"]
        response = http.post(
            f"/customer/{TENANT}/password/reset",
            json={"email": email},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 204, response.text


def test_inbox_is_a_self_contained_page(client) -> None:
    response = client.get("/_mock/inbox")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "<title>credmock inbox</title>" in response.text
    assert "http://" not in response.text and "https://" not in response.text  # nothing from elsewhere


def test_guarded_inbox_takes_the_control_token_in_the_query_or_header(client_with) -> None:
    client = client_with(control_token=CONTROL_TOKEN)

    assert client.get("/_mock/inbox").status_code == 401
    assert client.get("/_mock/inbox", params={"controlToken": "wrong"}).status_code == 401
    assert client.get("/_mock/inbox", params={"controlToken": CONTROL_TOKEN}).status_code == 200
    assert client.get("/_mock/inbox", headers={"X-Mock-Control-Token": CONTROL_TOKEN}).status_code == 200
    # Only the page takes it in the query: the JSON API still wants the header.
    assert client.get("/_mock/outbox", params={"controlToken": CONTROL_TOKEN}).status_code == 401


def open_inbox(browser: Any, url: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.goto(url)
    return context, page, problems


def test_inbox_shows_a_reset_email_as_it_arrives_and_follows_its_link(chromium, tmp_path: Path) -> None:
    with static_site(PAGES) as site:
        settings = Settings(
            seed=7, password_reset_link=f"{site}/landing.html?tenant={{tenant}}&token={{token}}"
        )
        with LiveServer(settings) as mock:
            context, page, problems = open_inbox(chromium, f"{mock.base_url}/_mock/inbox")
            try:
                page.wait_for_selector("text=No email yet", timeout=PAGE_TIMEOUT_MS)

                request_reset(mock.base_url, ALICE["email"])
                page.wait_for_selector(f".row:has-text('{ALICE['email']}')", timeout=PAGE_TIMEOUT_MS)
                request_reset(mock.base_url, BOB["email"])
                page.wait_for_selector(f".row:has-text('{BOB['email']}')", timeout=PAGE_TIMEOUT_MS)
                newest_first = page.locator(".row .to").all_text_contents()

                page.click(f".row:has-text('{ALICE['email']}')")
                token = page.text_content("#email-token")
                link = page.get_attribute("#email-link", "href")
                html_part = page.frame_locator("iframe").get_by_role("link", name="Choose a new password")
                html_part.wait_for(timeout=PAGE_TIMEOUT_MS)
                page.click("button.copy")
                copied = page.evaluate("navigator.clipboard.readText()")
                page.screenshot(path=str(tmp_path / "inbox.png"))
                page.click("role=tab[name='Text']")
                text_part = page.text_content("pre")

                with context.expect_page(timeout=PAGE_TIMEOUT_MS) as opened:
                    page.click("#email-link")
                landing = opened.value
                landing.wait_for_selector("#token:not(:empty)", timeout=PAGE_TIMEOUT_MS)
                landing_token = landing.text_content("#token")
            finally:
                context.close()
            alice_email = httpx.get(
                f"{mock.base_url}/_mock/outbox/latest", params={"to": ALICE["email"]}
            ).json()

    assert newest_first == [BOB["email"], ALICE["email"]]
    assert token == alice_email["token"]
    assert link == alice_email["link"]
    assert copied == token
    assert text_part == alice_email["body"]
    assert landing_token == token  # the link led to the storefront page with the token
    assert (tmp_path / "inbox.png").stat().st_size > 10_000
    assert problems == []  # no script error, no blocked resource


def test_guarded_inbox_in_a_browser_reads_the_outbox_with_the_token(chromium) -> None:
    with LiveServer(Settings(seed=7, control_token=CONTROL_TOKEN)) as mock:
        context, page, problems = open_inbox(
            chromium, f"{mock.base_url}/_mock/inbox?controlToken={CONTROL_TOKEN}"
        )
        try:
            request_reset(mock.base_url, ALICE["email"], CONTROL_TOKEN)
            page.wait_for_selector(f".row:has-text('{ALICE['email']}')", timeout=PAGE_TIMEOUT_MS)
            live = page.text_content("#live")
        finally:
            context.close()

    assert live == "live"
    assert problems == []
