"""A person at the inbox page: behind a control token, a browser is given a form for the token
(the 401 page) and the banner says how to get in; "Empty outbox" stands apart from the filter
and asks before it deletes anything. In a real headless chromium."""

from __future__ import annotations

import httpx

from credmock.app import create_app
from credmock.settings import Settings
from credmock.tools import cli
from credmock.tools.testing import LiveServer
from tests.conftest import ALICE, BOB
from tests.test_browser import PAGE_TIMEOUT_MS
from tests.test_inbox import CONTROL_TOKEN, open_inbox, request_reset

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_guarded_inbox_answers_a_browser_with_a_token_form_and_others_with_json(client_with) -> None:
    client = client_with(control_token=CONTROL_TOKEN)

    page = client.get("/_mock/inbox", headers={"Accept": BROWSER_ACCEPT})
    api = client.get("/_mock/inbox", headers={"Accept": "application/json"})
    outbox = client.get("/_mock/outbox", headers={"Accept": BROWSER_ACCEPT})

    assert page.status_code == 401
    assert page.headers["content-type"].startswith("text/html")
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert '<input type="password" id="controlToken" name="controlToken"' in page.text
    assert api.status_code == 401 and api.json()["type"] == "unauthorized"
    assert outbox.status_code == 401 and outbox.json()["type"] == "unauthorized"  # the API stays JSON


def test_banner_of_a_guarded_server_says_how_to_open_the_inbox() -> None:
    app = create_app(Settings(control_token=CONTROL_TOKEN))

    text = cli.banner("http://127.0.0.1:8080", app)

    assert "inbox:       http://127.0.0.1:8080/_mock/inbox?controlToken=TOKEN" in text
    assert CONTROL_TOKEN not in text


def test_guarded_inbox_in_a_browser_lets_a_person_in_with_the_token_form(chromium) -> None:
    with LiveServer(Settings(seed=7, control_token=CONTROL_TOKEN)) as mock:
        request_reset(mock.base_url, ALICE["email"], CONTROL_TOKEN)
        context, page, problems = open_inbox(chromium, f"{mock.base_url}/_mock/inbox")
        try:
            page.wait_for_selector("#controlToken", timeout=PAGE_TIMEOUT_MS)
            page.fill("#controlToken", CONTROL_TOKEN)
            page.click("button[type=submit]")
            page.wait_for_selector(f".row:has-text('{ALICE['email']}')", timeout=PAGE_TIMEOUT_MS)
            live = page.text_content("#live")
        finally:
            context.close()

    assert live == "live"
    # The 401 of the first load is the only error the console saw.
    assert all("401" in problem for problem in problems), problems


def test_inbox_empty_outbox_asks_first_and_stands_apart_from_the_filter(chromium) -> None:
    with LiveServer(Settings(seed=7)) as mock:
        request_reset(mock.base_url, ALICE["email"])
        request_reset(mock.base_url, BOB["email"])
        context, page, problems = open_inbox(chromium, f"{mock.base_url}/_mock/inbox")
        questions: list[str] = []
        try:
            page.wait_for_selector(f".row:has-text('{BOB['email']}')", timeout=PAGE_TIMEOUT_MS)
            filter_box = page.locator("#filter").bounding_box()
            clear = page.locator("#clear").bounding_box()

            def decline(dialog) -> None:  # a playwright Dialog
                questions.append(dialog.message)
                dialog.dismiss()

            page.once("dialog", decline)
            page.click("#clear")
            page.wait_for_timeout(300)
            kept = httpx.get(f"{mock.base_url}/_mock/outbox").json()

            def accept(dialog) -> None:
                questions.append(dialog.message)
                dialog.accept()

            page.once("dialog", accept)
            page.click("#clear")
            page.wait_for_selector("text=No email yet", timeout=PAGE_TIMEOUT_MS)
            emptied = httpx.get(f"{mock.base_url}/_mock/outbox").json()
        finally:
            context.close()

    assert filter_box is not None and clear is not None
    assert clear["x"] - (filter_box["x"] + filter_box["width"]) > 150  # not beside the filter
    assert len(questions) == 2 and "2 emails" in questions[0]
    assert len(kept) == 2
    assert emptied == []
    assert problems == []
