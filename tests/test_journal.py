"""The request journal (GET/DELETE /_mock/requests): what the mock answered and why, newest
first, filterable, bounded, with every password and token masked."""

from __future__ import annotations

import json

import pytest

from credmock.observe.journal import MASK
from tests.conftest import ALICE, TENANT, bearer

CHANGE = f"/customer/{TENANT}/password/change"
RESET = f"/customer/{TENANT}/password/reset"


def request_reset(client, email: str, tenant: str = TENANT) -> None:
    client.post(
        f"/customer/{tenant}/password/reset",
        json={"email": email},
        headers=bearer(client.anonymous_token(tenant)),
    )


def journal(client, **filters) -> list[dict]:
    response = client.get("/_mock/requests", params=filters)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(params=["async", "flask"])
def engine_client(request, client_with):
    return client_with(engine=request.param)


def test_journal_shows_each_request_newest_first_with_its_reason(engine_client):
    token = engine_client.customer_token()
    engine_client.post(CHANGE, json={"currentPassword": ALICE["password"], "newPassword": "abc"})
    engine_client.post(
        CHANGE, json={"currentPassword": ALICE["password"], "newPassword": "abc"}, headers=bearer(token)
    )
    engine_client.post(
        "/customer/acme/password/change",
        json={"currentPassword": ALICE["password"], "newPassword": "n3w-secret"},
        headers=bearer(token),
    )

    entries = journal(engine_client)

    assert [(e["method"], e["path"], e["status"], e["reason"]) for e in entries] == [
        ("POST", "/customer/acme/password/change", 403, f"token of tenant {TENANT} on tenant acme"),
        ("POST", CHANGE, 400, "newPassword: shorter than 6"),
        ("POST", CHANGE, 401, "no access token: no Authorization header"),
        ("POST", "/_mock/tokens", 201, None),
    ]
    newest = entries[0]
    assert newest["operationId"] == "POST-customer-change-account-password"
    assert newest["tenant"] == "acme"
    assert newest["durationMs"] >= 0
    assert newest["fault"] is None and newest["injected"] is False
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)


def test_journal_masks_passwords_and_tokens_in_bodies(client):
    token = client.customer_token()
    client.post(
        CHANGE,
        json={"currentPassword": ALICE["password"], "newPassword": "n3w-secret"},
        headers=bearer(token),
    )
    client.post(
        f"/customer/{TENANT}/password/reset/update",
        json={"token": "emailed-token-1", "password": "p4ss-word"},
    )

    entries = journal(client)
    text = json.dumps(entries)

    assert entries[0]["body"] == {"token": MASK, "password": MASK}
    assert entries[1]["body"] == {"currentPassword": MASK, "newPassword": MASK}
    for secret in (ALICE["password"], "n3w-secret", "emailed-token-1", "p4ss-word", token):
        assert secret not in text


def test_journal_hides_a_body_that_is_not_json_and_names_a_secret(client):
    client.post(RESET, content=b"password=hunter22", headers={"Content-Type": "application/json"})

    entry = journal(client, path="/password/reset")[0]

    assert "hunter22" not in json.dumps(entry)
    assert "hidden" in entry["body"]


def test_journal_filters_combine(client):
    request_reset(client, ALICE["email"])
    request_reset(client, "dave@acme.example", "acme")
    client.post(CHANGE, json={})

    assert [e["tenant"] for e in journal(client, path="/password/reset")] == ["acme", TENANT]
    assert [e["path"] for e in journal(client, tenant="acme")] == ["/customer/acme/password/reset"]
    assert [e["path"] for e in journal(client, status=401)] == [CHANGE]
    assert [e["path"] for e in journal(client, method="post", limit=2)] == [
        CHANGE,
        RESET.replace(TENANT, "acme"),
    ]
    assert [e["tenant"] for e in journal(client, operation="POST-customer-request-reset-password")] == [
        "acme",
        TENANT,
    ]
    assert journal(client, method="DELETE") == []


def test_journal_keeps_the_newest_requests_only(client_with):
    client = client_with(journal_size=3)
    for number in range(5):
        client.post(RESET, json={"email": f"nobody{number}@example.com"})  # 401s, recorded all the same

    bodies = [entry["body"]["email"] for entry in journal(client)]

    assert bodies == ["nobody4@example.com", "nobody3@example.com", "nobody2@example.com"]


def test_journal_of_size_zero_keeps_nothing(client_with):
    client = client_with(journal_size=0)
    request_reset(client, ALICE["email"])

    assert journal(client) == []


def test_successful_reads_of_the_mock_api_are_not_recorded_failed_ones_are(client):
    client.get("/_mock/outbox")
    client.get("/_mock/health")
    client.get("/_mock/outbox/latest")  # 404: nothing sent yet

    assert [(e["path"], e["status"]) for e in journal(client)] == [("/_mock/outbox/latest", 404)]


def test_delete_and_reset_empty_the_journal(client):
    request_reset(client, ALICE["email"])
    assert client.delete("/_mock/requests").status_code == 204
    assert journal(client) == []

    request_reset(client, ALICE["email"])
    assert len(client.outbox()) == 2
    assert client.post("/_mock/reset").status_code == 204
    assert journal(client) == []


def test_journal_is_guarded_by_the_control_token(client_with):
    client = client_with(control_token="guard-1")

    assert client.get("/_mock/requests").status_code == 401
    assert client.delete("/_mock/requests").status_code == 401
    entries = journal_with_token = client.get("/_mock/requests", headers={"X-Mock-Control-Token": "guard-1"})
    assert entries.status_code == 200
    assert [(e["path"], e["status"]) for e in journal_with_token.json()][:2] == [
        ("/_mock/requests", 401),
        ("/_mock/requests", 401),
    ]
    assert "guard-1" not in entries.text
