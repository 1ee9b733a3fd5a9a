"""A real headless browser signs in through the mock identity provider's page: a storefront page
on one origin starts the authorization code flow (PKCE), a person picks a customer on the
provider's page, and back on the storefront ``socialLogin`` turns the code into a customer
session, which reads its profile. The ``chromium`` fixture of ``tests/conftest.py`` drives
Debian's chromium (skipped with the reason when missing, unless ``CREDMOCK_REQUIRE_BROWSER=1``)."""

from __future__ import annotations

import json

from credmock.settings import Settings
from credmock.tools.testing import LiveServer
from tests.conftest import ALICE, TENANT
from tests.test_browser import PAGE_TIMEOUT_MS, PAGES, static_site


def test_person_signs_in_on_the_provider_page_and_lands_with_a_customer_session(chromium) -> None:
    with LiveServer(Settings(seed=11)) as mock, static_site(PAGES) as site:
        context = chromium.new_context()
        try:
            page = context.new_page()
            page.goto(f"{site}/social.html?api={mock.base_url}&tenant={TENANT}")
            page.wait_for_url(f"{mock.base_url}/_mock/idp/authorize?**", timeout=PAGE_TIMEOUT_MS)
            provider_page = page.content()
            page.get_by_role("button", name=f"Alice Anders {ALICE['email']}").click()
            page.wait_for_selector("#result:not([data-state=running])", timeout=PAGE_TIMEOUT_MS)
            result = json.loads(page.text_content("#result") or "{}")
            state = page.get_attribute("#result", "data-state")
            landed = page.url
        finally:
            context.close()

    assert "Sign in to browser-check" in provider_page
    assert state == "done", result
    assert landed.startswith(f"{site}/social.html?code=")
    assert result["statuses"] == {"socialLogin": 200, "me": 200}
    assert result["customerId"] == ALICE["id"]
    assert result["accounts"] == [{"id": ALICE["email"]}]
    assert result["sameSession"] is True  # the anonymous session goes on after sign-in
    assert result["idTokenParts"] == 3
