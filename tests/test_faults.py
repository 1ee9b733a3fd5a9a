"""Faults and latency on demand (/_mock/faults, ``--latency``), against a live server on both
engines: what a client sees, and that a faulted request changes nothing."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from credmock.app import create_app
from credmock.settings import Settings
from credmock.tools.testing import LiveServer
from tests.conftest import ALICE, DAVE_OF_ACME, TENANT

REQUEST_RESET = "POST-customer-request-reset-password"
RESET = "POST-customer-reset-password"
CHANGE = "POST-customer-change-account-password"


@pytest.fixture(scope="module", params=["async", "flask"])
def server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with LiveServer(Settings(seed=11, engine=request.param)) as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        assert client.post("/_mock/reset").status_code == 204
        yield client


def add_fault(http: httpx.Client, **fault) -> dict:
    response = http.post("/_mock/faults", json=fault)
    assert response.status_code == 201, response.text
    return response.json()


def anonymous(http: httpx.Client, tenant: str = TENANT) -> dict[str, str]:
    token = http.post("/_mock/tokens", json={"tenant": tenant, "kind": "anonymous"}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def request_reset(http: httpx.Client, email: str = ALICE["email"], tenant: str = TENANT) -> httpx.Response:
    return http.post(
        f"/customer/{tenant}/password/reset", json={"email": email}, headers=anonymous(http, tenant)
    )


def timed_reset(http: httpx.Client) -> tuple[httpx.Response, float]:
    """A reset request and the seconds it took, the anonymous token fetched beforehand."""
    headers = anonymous(http)
    started = time.monotonic()
    response = http.post(
        f"/customer/{TENANT}/password/reset", json={"email": ALICE["email"]}, headers=headers
    )
    return response, time.monotonic() - started


def test_503_for_the_next_two_resets_then_normal_service(http: httpx.Client) -> None:
    fault = add_fault(http, operation=REQUEST_RESET, status=503, times=2)

    statuses = [request_reset(http).status_code for _ in range(3)]

    assert statuses == [503, 503, 204]
    assert len(http.get("/_mock/outbox").json()) == 1  # only the request that got through sent one
    [listed] = http.get("/_mock/faults").json()
    assert listed["id"] == fault["id"]
    assert listed["fired"] == 2 and listed["remaining"] == 0


def test_fault_answers_in_the_contract_shape_or_with_its_own_body_and_headers(http: httpx.Client) -> None:
    add_fault(http, operation=REQUEST_RESET, status=503, times=1)
    add_fault(
        http, operation=REQUEST_RESET, status=429, body={"error": "slow down"}, headers={"Retry-After": "7"}
    )

    default = request_reset(http)
    own = request_reset(http)

    assert default.status_code == 503
    assert default.json()["status"] == 503 and default.json()["message"]
    assert own.status_code == 429
    assert own.json() == {"error": "slow down"}
    assert own.headers["retry-after"] == "7"


def test_journal_marks_the_injected_answers(http: httpx.Client) -> None:
    fault = add_fault(http, operation=REQUEST_RESET, status=500, times=1)
    request_reset(http)
    request_reset(http)

    entries = http.get("/_mock/requests", params={"operation": REQUEST_RESET}).json()

    assert [(e["status"], e["fault"], e["injected"]) for e in entries] == [
        (204, None, False),
        (500, fault["id"], True),
    ]
    assert fault["id"] in entries[1]["reason"]


def test_connection_reset_is_seen_by_a_real_client(server: LiveServer, http: httpx.Client) -> None:
    add_fault(http, operation=REQUEST_RESET, fault="connection-reset", times=1)
    body = b'{"email": "alice@example.com"}'
    headers = anonymous(http)["Authorization"]

    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        raw.sendall(
            f"POST /customer/{TENANT}/password/reset HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {headers}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        with pytest.raises(ConnectionResetError):
            while raw.recv(4096):  # a reset raises; a clean close would end the loop
                pass

    assert http.get("/_mock/outbox").json() == []  # the reset request sent nothing
    assert request_reset(http).status_code == 204  # times: 1, the next one is served
    [entry] = http.get("/_mock/requests", params={"status": 204, "operation": REQUEST_RESET}).json()
    assert entry["fault"] is None


def test_connection_reset_fails_an_httpx_call(http: httpx.Client) -> None:
    add_fault(http, operation="*", fault="connection-reset", times=1)

    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        request_reset(http)


def test_delay_only_fault_delays_the_real_answer(http: httpx.Client) -> None:
    add_fault(http, operation=REQUEST_RESET, delayMs=[300, 400], times=1)

    response, elapsed = timed_reset(http)

    assert response.status_code == 204
    assert elapsed >= 0.3
    assert len(http.get("/_mock/outbox").json()) == 1  # the real answer: the email was sent
    [entry] = http.get("/_mock/requests", params={"operation": REQUEST_RESET}).json()
    assert entry["durationMs"] >= 300 and entry["injected"] is False and entry["fault"]
    assert entry["reason"].startswith("delayed ") and entry["fault"] in entry["reason"]


def test_fault_limited_to_one_tenant(http: httpx.Client) -> None:
    add_fault(http, operation=REQUEST_RESET, tenant="acme", status=503)

    assert request_reset(http, DAVE_OF_ACME["email"], "acme").status_code == 503
    assert request_reset(http, ALICE["email"], TENANT).status_code == 204
    assert [email["tenant"] for email in http.get("/_mock/outbox").json()] == [TENANT]


def test_nothing_is_spent_during_a_fault(http: httpx.Client) -> None:
    assert request_reset(http).status_code == 204
    email_token = http.get("/_mock/outbox/latest").json()["token"]
    customer = http.post(
        "/_mock/tokens", json={"tenant": TENANT, "kind": "customer", "email": ALICE["email"]}
    )
    bearer = {"Authorization": f"Bearer {customer.json()['access_token']}"}
    add_fault(http, operation="*", status=500, times=2)

    reset = http.post(
        f"/customer/{TENANT}/password/reset/update",
        json={"token": email_token, "password": "n3w-secret"},
        headers=anonymous(http),
    )
    change = http.post(
        f"/customer/{TENANT}/password/change",
        json={"currentPassword": ALICE["password"], "newPassword": "other-secret"},
        headers=bearer,
    )
    assert (reset.status_code, change.status_code) == (500, 500)

    # The emailed token still works once, and the password was not changed by the faulted call.
    again = http.post(
        f"/customer/{TENANT}/password/reset/update",
        json={"token": email_token, "password": "n3w-secret"},
        headers=anonymous(http),
    )
    login = http.post(
        "/_mock/tokens",
        json={"tenant": TENANT, "kind": "customer", "email": ALICE["email"], "password": "n3w-secret"},
    )
    assert again.status_code == 204
    assert login.status_code == 201


def test_mock_api_is_never_faulted(http: httpx.Client) -> None:
    add_fault(http, operation="*", status=503)

    assert http.get("/_mock/outbox").status_code == 200
    assert http.delete("/_mock/faults").status_code == 204
    assert request_reset(http).status_code == 204


def test_delete_one_fault_or_all(http: httpx.Client) -> None:
    first = add_fault(http, operation=REQUEST_RESET, status=503)
    second = add_fault(http, operation=CHANGE, status=502)

    assert http.delete(f"/_mock/faults/{first['id']}").status_code == 204
    assert [fault["id"] for fault in http.get("/_mock/faults").json()] == [second["id"]]
    assert http.delete(f"/_mock/faults/{first['id']}").status_code == 404
    assert http.delete("/_mock/faults").status_code == 204
    assert http.get("/_mock/faults").json() == []
    assert request_reset(http).status_code == 204


def test_reset_removes_the_faults(http: httpx.Client) -> None:
    add_fault(http, operation=REQUEST_RESET, status=503)

    assert http.post("/_mock/reset").status_code == 204

    assert http.get("/_mock/faults").json() == []
    assert request_reset(http).status_code == 204


def test_probability_zero_never_fires(http: httpx.Client) -> None:
    add_fault(http, operation=REQUEST_RESET, status=503, probability=0)

    assert [request_reset(http).status_code for _ in range(3)] == [204, 204, 204]
    assert http.get("/_mock/faults").json()[0]["fired"] == 0


@pytest.mark.parametrize(
    ("fault", "field"),
    [
        ({"operation": "no-such-operation", "status": 503}, "operation"),
        ({"operation": "*"}, "status"),
        ({"operation": "*", "status": 503, "fault": "connection-reset"}, "fault"),
        ({"operation": "*", "body": {"a": 1}}, "status"),
        ({"operation": "*", "delayMs": [500, 100]}, "delayMs"),
        ({"operation": "*", "status": 503, "headers": {"Content-Length": "3"}}, "headers"),
        ({"operation": "*", "status": 503, "headers": {"X-Evil": "a\r\nSet-Cookie: x=1"}}, "headers"),
        ({"operation": "*", "status": 99}, "status"),
        ({"operation": "*", "status": 503, "probability": 2}, "probability"),
    ],
)
def test_bad_faults_are_refused_naming_the_field(http: httpx.Client, fault: dict, field: str) -> None:
    response = http.post("/_mock/faults", json=fault)

    assert response.status_code == 400, response.text
    assert field in [detail["field"] for detail in response.json().get("details", [])], response.text
    assert http.get("/_mock/faults").json() == []


def test_latency_delays_every_contract_request() -> None:
    with LiveServer(Settings(latency_ms=(250, 300))) as live, httpx.Client(base_url=live.base_url) as http:
        response, elapsed = timed_reset(http)

    assert response.status_code == 204
    assert elapsed >= 0.25


def test_connection_reset_in_process_gives_the_test_client_no_answer() -> None:
    app = create_app(Settings(seed=3))
    client = app.test_client()
    client.post("/_mock/faults", json={"operation": REQUEST_RESET, "fault": "connection-reset"})

    with pytest.raises(AssertionError, match="did not receive any response"):
        client.post(f"/customer/{TENANT}/password/reset", json={"email": ALICE["email"]})
    assert app.inspection.journal.find()[0].status is None


def test_fault_endpoints_answer_in_their_declared_shapes(client) -> None:
    """Through the contract-checking client: every answer conforms to spec/mock-api.yaml."""
    created = client.post(
        "/_mock/faults",
        json={
            "operation": REQUEST_RESET,
            "tenant": TENANT,
            "status": 429,
            "body": {"error": "slow down"},
            "headers": {"Retry-After": "2"},
            "delayMs": [0, 1],
            "times": 3,
            "probability": 0.5,
        },
    )
    reset = client.post("/_mock/faults", json={"operation": "*", "fault": "connection-reset", "times": 1})

    assert created.status_code == 201 and reset.status_code == 201
    assert created.headers["location"] == f"/_mock/faults/{created.json()['id']}"
    listed = client.get("/_mock/faults").json()
    assert [fault["id"] for fault in listed] == [created.json()["id"], reset.json()["id"]]
    assert listed[0]["delayMs"] == [0, 1] and listed[0]["remaining"] == 3 and listed[0]["probability"] == 0.5
    assert client.delete(f"/_mock/faults/{reset.json()['id']}").status_code == 204
    assert client.delete("/_mock/faults/fault-999").status_code == 404
    assert client.delete("/_mock/faults").status_code == 204
