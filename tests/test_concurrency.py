"""Races against a live server, under its real threading model, for each engine: uvicorn's event
loop runs the security checks (``Domain.authenticate``); the Flask engine runs the handlers in
a2wsgi's thread pool, the async engine on the event loop. Each store operation is atomic (a
compare-and-set where a rule reads, then writes). Each test releases its threads together (a
barrier), so the requests overlap."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest

from credmock.app import ENGINES
from credmock.settings import Settings
from credmock.tools.testing import LiveServer
from tests.conftest import ALICE, TENANT, bearer

RACERS = 16
T = TypeVar("T")


@pytest.fixture(scope="module", params=ENGINES)
def server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with LiveServer(Settings(engine=request.param)) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    server.app.reset()
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        yield http


def run_together(base_url: str, count: int, action: Callable[[httpx.Client, int], T]) -> list[T]:
    """``action(client, index)`` in ``count`` threads, each with its own connection, released at once."""
    barrier = threading.Barrier(count)

    def run(index: int) -> T:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            barrier.wait()
            return action(http, index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def issue_token(http: httpx.Client, **body: Any) -> str:
    response = http.post("/_mock/tokens", json={"tenant": TENANT, **body})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


def can_log_in(http: httpx.Client, email: str, password: str) -> bool:
    response = http.post(
        "/_mock/tokens", json={"tenant": TENANT, "kind": "customer", "email": email, "password": password}
    )
    assert response.status_code in (201, 400), response.text
    return response.status_code == 201


def latest_token(http: httpx.Client, **filters: str) -> str:
    response = http.get("/_mock/outbox/latest", params=filters)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def outcome(response: httpx.Response) -> tuple[int, str | None]:
    """The status, and the error type of a 400 (its body must be the contract's ErrorMessage)."""
    return response.status_code, response.json()["type"] if response.status_code == 400 else None


def test_request_reset_password_parallel_flows_each_get_one_email_and_complete(
    server: LiveServer, client: httpx.Client
) -> None:
    def reset_flow(http: httpx.Client, index: int) -> tuple[int, ...]:
        email = f"parallel-{index}@example.com"
        created = http.post(
            f"/_mock/tenants/{TENANT}/customers", json={"email": email, "password": f"first-pass-{index}"}
        )
        token = issue_token(http, kind="anonymous")
        requested = http.post(
            f"/customer/{TENANT}/password/reset", json={"email": email}, headers=bearer(token)
        )
        emails = http.get("/_mock/outbox", params={"to": email}).json()
        updated = http.post(
            f"/customer/{TENANT}/password/reset/update",
            json={"token": emails[0]["token"], "password": f"second-pass-{index}"},
            headers=bearer(token),
        )
        new_works = can_log_in(http, email, f"second-pass-{index}")
        old_works = can_log_in(http, email, f"first-pass-{index}")
        return (
            created.status_code,
            requested.status_code,
            len(emails),
            updated.status_code,
            new_works,
            old_works,
        )

    results = run_together(server.base_url, RACERS, reset_flow)

    assert results == [(201, 204, 1, 204, True, False)] * RACERS
    assert len(client.get("/_mock/outbox", params={"kind": "password-reset"}).json()) == RACERS


def test_reset_password_same_token_concurrently_succeeds_once(
    server: LiveServer, client: httpx.Client
) -> None:
    anonymous = issue_token(client, kind="anonymous")
    client.post(
        f"/customer/{TENANT}/password/reset", json={"email": ALICE["email"]}, headers=bearer(anonymous)
    )
    reset_token = latest_token(client, to=ALICE["email"], kind="password-reset")

    responses = run_together(
        server.base_url,
        RACERS,
        lambda http, index: http.post(
            f"/customer/{TENANT}/password/reset/update",
            json={"token": reset_token, "password": f"racer-pass-{index}"},
            headers=bearer(anonymous),
        ),
    )

    assert Counter(outcome(response) for response in responses) == {
        (204, None): 1,
        (400, "invalid_token"): RACERS - 1,
    }
    winner = next(index for index, response in enumerate(responses) if response.status_code == 204)
    working = [index for index in range(RACERS) if can_log_in(client, ALICE["email"], f"racer-pass-{index}")]
    assert working == [winner]


def test_confirm_customer_login_email_same_token_concurrently_succeeds_once(
    server: LiveServer, client: httpx.Client
) -> None:
    customer = issue_token(client, kind="customer", email=ALICE["email"])
    new_email = "alice.racing@example.com"
    requested = client.post(
        f"/customer/{TENANT}/me/accounts/internal/email/change",
        json={"email": ALICE["email"], "password": ALICE["password"], "newEmail": new_email},
        headers=bearer(customer),
    )
    assert requested.status_code == 204, requested.text
    confirm_token = latest_token(client, to=new_email, kind="email-change")
    anonymous = issue_token(client, kind="anonymous")

    responses = run_together(
        server.base_url,
        RACERS,
        lambda http, _: http.post(
            f"/customer/{TENANT}/me/accounts/internal/email/change/confirm",
            json={"token": confirm_token},
            headers=bearer(anonymous),
        ),
    )

    assert Counter(outcome(response) for response in responses) == {
        (204, None): 1,
        (400, "invalid_token"): RACERS - 1,
    }
    emails = {customer["email"] for customer in client.get(f"/_mock/tenants/{TENANT}/customers").json()}
    assert new_email in emails
    assert ALICE["email"] not in emails


def test_change_account_password_concurrent_changes_leave_exactly_one_submitted_password(
    server: LiveServer, client: httpx.Client
) -> None:
    customer = issue_token(client, kind="customer", email=ALICE["email"])

    responses = run_together(
        server.base_url,
        RACERS,
        lambda http, index: http.post(
            f"/customer/{TENANT}/password/change",
            json={"currentPassword": ALICE["password"], "newPassword": f"changed-pass-{index}"},
            headers=bearer(customer),
        ),
    )

    # The first change wins; the others present a current password that is no longer current.
    assert Counter(outcome(response) for response in responses) == {
        (204, None): 1,
        (400, "invalid_password"): RACERS - 1,
    }
    winner = next(index for index, response in enumerate(responses) if response.status_code == 204)
    candidates = [ALICE["password"], *(f"changed-pass-{index}" for index in range(RACERS))]
    working = [password for password in candidates if can_log_in(client, ALICE["email"], password)]
    assert working == [f"changed-pass-{winner}"]


def test_mock_api_mixed_concurrent_load_never_fails(server: LiveServer, client: httpx.Client) -> None:
    """Reads of shared state (health counts, outbox, customer lists) while other threads add
    tenants, customers, tokens and emails: every answer is a success, and nothing is lost."""
    rounds = 12

    def mixed_load(http: httpx.Client, index: int) -> list[int]:
        statuses = []
        anonymous = issue_token(http, kind="anonymous")
        for round_number in range(rounds):
            email = f"load-{index}-{round_number}@example.com"
            statuses += [
                http.post(
                    f"/_mock/tenants/{TENANT}/customers", json={"email": email, "password": "load-pass"}
                ).status_code,
                http.post(
                    f"/customer/{TENANT}/password/reset", json={"email": email}, headers=bearer(anonymous)
                ).status_code,
                http.post(
                    "/_mock/tokens", json={"tenant": f"load{index}x{round_number}", "kind": "anonymous"}
                ).status_code,
                http.get("/_mock/health").status_code,
                http.get("/_mock/outbox", params={"limit": 5}).status_code,
                http.get(f"/_mock/tenants/{TENANT}/customers").status_code,
            ]
        return statuses

    results = run_together(server.base_url, RACERS, mixed_load)

    assert Counter(status for statuses in results for status in statuses) == {
        201: 2 * RACERS * rounds,
        204: RACERS * rounds,
        200: 3 * RACERS * rounds,
    }
    health = client.get("/_mock/health").json()
    assert health["outbox"] == RACERS * rounds
    fixture_customers = 3
    assert len(client.get(f"/_mock/tenants/{TENANT}/customers").json()) == fixture_customers + RACERS * rounds
