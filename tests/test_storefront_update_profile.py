"""``PATCH /customer/{tenant}/me``: the logged-in customer updates their profile, and ``/me``
shows it. Every response is checked against spec/storefront.yaml by the ``client`` fixture.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from credmock.tools.testing import ServerProcess
from tests.conftest import (
    ALICE,
    BAD_AUTHORIZATIONS,
    INVALID_TOKEN_FAULT,
    ContractClient,
    bearer,
    error_body,
    error_fields,
)
from tests.stores import SHARED_STORES
from tests.test_storefront import anonymous_login, credentials, login, profile, signup
from tests.test_storefront_profile import change_login_email

ME = "/customer/demo/me"


def update(client: ContractClient, token: str, body: Any, **kwargs: Any) -> httpx.Response:
    return client.patch(ME, json=body, headers=bearer(token), **kwargs)


def updated(client: ContractClient, token: str, body: Any) -> dict[str, Any]:
    """The profile after a successful update."""
    response = update(client, token, body)
    assert response.status_code == 200, response.text
    assert response.content == b""
    return profile(client, token)


@pytest.fixture
def token(client: ContractClient) -> str:
    return login(client, **credentials(ALICE))["access_token"]


# What changes ----------------------------------------------------------------------------------


def test_update_profile_changes_the_fields_given_and_keeps_the_others(client, token):
    before = profile(client, token)
    changes = {
        "title": "DR",
        "firstName": "Alicia",
        "contactPhone": "+49 30 123456",
        "company": "Acme",
        "preferredLanguage": "de_DE",
        "preferredCurrency": "CHF",
        "preferredSite": "ch",
    }
    me = updated(client, token, changes)
    for field, value in changes.items():
        assert me[field] == value, field
    assert (me["lastName"], me["contactEmail"], me["accounts"]) == (
        before["lastName"],
        before["contactEmail"],
        before["accounts"],
    )
    assert me["metadata"]["version"] == before["metadata"]["version"] + 1


def test_update_profile_null_removes_a_field(client, token):
    updated(client, token, {"title": "DR", "preferredSite": "ch", "company": "Acme"})
    me = updated(client, token, {"title": None, "preferredSite": None})
    assert "title" not in me
    assert me["preferredSite"] == "main"
    assert me["company"] == "Acme"


def test_update_profile_merges_mixins_name_by_name(client, token):
    updated(client, token, {"mixins": {"loyalty": {"level": "gold", "points": 10}, "newsletter": True}})
    me = updated(client, token, {"mixins": {"loyalty": {"points": 20}, "newsletter": None}})
    assert me["mixins"] == {"loyalty": {"level": "gold", "points": 20}}


def test_update_profile_accepts_merge_patch_content_type(client, token):
    response = client.patch(
        ME,
        content=json.dumps({"middleName": "Beth"}),
        headers={**bearer(token), "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    assert profile(client, token)["middleName"] == "Beth"


def test_update_profile_with_nothing_to_change_keeps_the_version(client, token):
    version = profile(client, token)["metadata"]["version"]
    assert updated(client, token, {})["metadata"]["version"] == version
    assert (
        updated(client, token, {"lastName": profile(client, token)["lastName"]})["metadata"]["version"]
        == version
    )


def test_update_profile_ignores_fields_the_profile_does_not_have(client, token):
    before = profile(client, token)
    me = updated(client, token, {"id": "42", "accounts": [{"id": "x@example.com"}], "email": "x@example.com"})
    assert (me["id"], me["accounts"]) == (before["id"], before["accounts"])
    assert client.can_log_in(ALICE["email"], ALICE["password"])


def test_update_profile_company_registration_is_kept_and_leaves_the_business_model(client, token):
    me = updated(client, token, {"company": "Acme", "b2b": {"companyRegistrationId": "DE-42"}})
    # B2B follows a legal entity assignment (the fixtures'), not the registration id
    assert (me["businessModel"], me["b2b"]) == ("B2C", {"companyRegistrationId": "DE-42"})
    me = updated(client, token, {"b2b": None})
    assert me["businessModel"] == "B2C" and "b2b" not in me


@pytest.mark.parametrize("engine", ["async", "flask"])
def test_update_profile_shows_on_each_engine(client_with, engine):
    client = client_with(engine=engine)
    token = login(client, **credentials(ALICE))["access_token"]
    assert updated(client, token, {"firstName": "Ally"})["firstName"] == "Ally"


# Contact email ---------------------------------------------------------------------------------


def test_update_profile_changes_the_contact_email_not_the_login(client, token):
    me = updated(client, token, {"contactEmail": "Alice.Work@EXAMPLE.com"})
    assert me["contactEmail"] == "Alice.Work@example.com"
    assert me["accounts"] == [{"id": ALICE["email"]}]
    assert client.can_log_in(ALICE["email"], ALICE["password"])
    assert not client.can_log_in("alice.work@example.com", ALICE["password"])


@pytest.mark.parametrize("contact_email", [None, ""], ids=["null", "empty"])
def test_update_profile_contact_email_cannot_be_removed(client, token, contact_email):
    before = profile(client, token)
    error = error_body(update(client, token, {"contactEmail": contact_email}), 400)
    assert error_fields(error) == ["contactEmail"]
    assert profile(client, token) == before


def test_update_profile_invalid_contact_email_is_400(client, token):
    error = error_body(update(client, token, {"contactEmail": "not-an-address"}), 400)
    assert error_fields(error) == ["contactEmail"]


def test_confirmed_email_change_with_sync_overrides_a_patched_contact_email(client, token):
    updated(client, token, {"contactEmail": "alice.work@example.com"})
    change_login_email(client, token, "alice.new@example.com", sync=True)
    me = profile(client, token)
    assert (me["contactEmail"], me["accounts"]) == (
        "alice.new@example.com",
        [{"id": "alice.new@example.com"}],
    )


# Versions --------------------------------------------------------------------------------------


def test_update_profile_with_the_current_version_succeeds(client, token):
    version = profile(client, token)["metadata"]["version"]
    me = updated(client, token, {"firstName": "Al", "metadata": {"version": version}})
    assert (me["firstName"], me["metadata"]["version"]) == ("Al", version + 1)


def test_update_profile_with_a_stale_version_is_400_and_changes_nothing(client, token):
    version = profile(client, token)["metadata"]["version"]
    updated(client, token, {"firstName": "Al"})
    error = error_body(update(client, token, {"lastName": "Other", "metadata": {"version": version}}), 400)
    assert error["type"] == "stale_version"
    assert error_fields(error) == ["metadata.version"]
    assert profile(client, token)["lastName"] != "Other"


# Refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"preferredCurrency": "EURO"}, "preferredCurrency"),
        ({"title": 7}, "title"),
        ({"b2b": "acme"}, "b2b"),
        ({"mixins": [1]}, "mixins"),
        ({"metadata": {"version": "one"}}, "metadata.version"),
    ],
    ids=[
        "currency-not-three-letters",
        "title-not-a-string",
        "b2b-not-an-object",
        "mixins-not-an-object",
        "version-not-a-number",
    ],
)
def test_update_profile_bad_field_is_400_naming_it(client, token, body, field):
    before = profile(client, token)
    assert field in error_fields(error_body(update(client, token, body), 400))
    assert profile(client, token) == before


def test_update_profile_company_registration_needs_names_and_company(client, token):
    error = error_body(
        update(client, token, {"firstName": None, "b2b": {"companyRegistrationId": "DE-1"}}), 400
    )
    assert error_fields(error) == ["firstName", "company"]


def test_update_profile_body_that_is_not_an_object_is_400(client, token):
    assert update(client, token, ["firstName"]).status_code == 400


def test_update_profile_anonymous_token_is_403(client):
    error = error_body(update(client, anonymous_login(client)["access_token"], {"firstName": "X"}), 403)
    assert error["type"] == "forbidden"


def test_update_profile_without_profile_edit_scope_is_403(client):
    token = client.customer_token(scopes=["customer.customer_read_own"])
    error = error_body(update(client, token, {"firstName": "X"}), 403)
    assert "customer.customerprofile_edit" in error["message"]


def test_update_profile_token_of_another_tenant_is_403(client):
    token = client.customer_token("dave@acme.example", tenant="acme")
    assert error_body(update(client, token, {"firstName": "X"}), 403)


@pytest.mark.parametrize("headers", BAD_AUTHORIZATIONS.values(), ids=BAD_AUTHORIZATIONS.keys())
def test_update_profile_without_a_usable_token_is_401(client, headers):
    response = client.patch(ME, json={"firstName": "X"}, headers=headers)
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN_FAULT


def test_update_profile_after_logout_is_401(client, token):
    logout = client.get("/customer/demo/logout", params={"accessToken": token}, headers=bearer(token))
    assert logout.status_code == 204
    assert update(client, token, {"firstName": "X"}).status_code == 401


def test_updated_profile_is_what_a_new_signup_shows_the_same_way(client):
    body = {"email": "nia@example.com", "password": "nia-pass-1", "customerDetails": {"firstName": "Nia"}}
    assert signup(client, body).status_code == 201
    token = login(client, "nia@example.com", "nia-pass-1")["access_token"]
    me = updated(client, token, {"lastName": "Nox", "preferredCurrency": "EUR"})
    assert (me["firstName"], me["lastName"], me["preferredCurrency"], me["metadata"]["version"]) == (
        "Nia",
        "Nox",
        "EUR",
        2,
    )


# Races across processes sharing a store ------------------------------------------------------

RACERS = 16


@pytest.fixture(params=SHARED_STORES)
def two_instances(
    request: pytest.FixtureRequest, store_urls
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two ``credmock serve`` processes on one shared store (a SQLite file, a Redis server)."""
    state = ["--state", store_urls(request.param)]
    with ServerProcess([*state, "--reset-on-start"]) as first, ServerProcess(state) as second:
        yield first, second


def alice_token(instance: ServerProcess) -> str:
    with httpx.Client(base_url=instance.base_url, timeout=30) as http:
        body = {"tenant": "demo", "kind": "customer", "email": ALICE["email"]}
        response = http.post("/_mock/tokens", json=body)
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


def race(instances: tuple[ServerProcess, ServerProcess], body: Callable[[int], Any]) -> list[int]:
    """The status of ``RACERS`` updates of Alice's profile (``body(index)``), sent together,
    alternately to each instance."""
    headers = bearer(alice_token(instances[0]))
    barrier = threading.Barrier(RACERS)

    def send(index: int) -> int:
        with httpx.Client(base_url=instances[index % 2].base_url, timeout=30) as http:
            barrier.wait()
            return http.patch(ME, json=body(index), headers=headers).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(send, range(RACERS)))


def alice_profile(instance: ServerProcess) -> dict[str, Any]:
    with httpx.Client(base_url=instance.base_url, timeout=30) as http:
        response = http.get(ME, headers=bearer(alice_token(instance)))
    assert response.status_code == 200, response.text
    return response.json()


def test_concurrent_updates_at_one_version_across_instances_succeed_once(two_instances):
    statuses = race(two_instances, lambda index: {"firstName": f"Racer {index}", "metadata": {"version": 1}})
    assert Counter(statuses) == {200: 1, 400: RACERS - 1}
    me = alice_profile(two_instances[1])
    assert me["metadata"]["version"] == 2
    assert me["firstName"].startswith("Racer ")


def test_concurrent_updates_without_a_version_across_instances_all_apply(two_instances):
    statuses = race(two_instances, lambda index: {"mixins": {f"racer{index}": index}})
    assert statuses == [200] * RACERS
    me = alice_profile(two_instances[0])
    assert me["mixins"] == {f"racer{index}": index for index in range(RACERS)}
    assert me["metadata"]["version"] == 1 + RACERS
