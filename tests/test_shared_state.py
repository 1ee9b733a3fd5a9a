"""State that outlives a process and spans processes, against `credmock serve` as users start it:
two instances on one Redis, a SQLite file across a `kill -9`, and what the command refuses or
never prints."""

from __future__ import annotations

import signal
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from credmock.cli import main
from credmock.testing import RedisServer, ServerProcess
from tests.conftest import ALICE, BOB, TENANT, bearer

RACERS = 16


def anonymous_token(http: httpx.Client) -> str:
    response = http.post("/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


def customer_token(http: httpx.Client, email: str, password: str | None = None) -> httpx.Response:
    body = {"tenant": TENANT, "kind": "customer", "email": email}
    if password is not None:
        body["password"] = password
    return http.post("/_mock/tokens", json=body)


def latest_token(http: httpx.Client, to: str) -> str:
    response = http.get("/_mock/outbox/latest", params={"to": to})
    assert response.status_code == 200, response.text
    return response.json()["token"]


# Two instances on one Redis ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def instances(redis_server: RedisServer) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    state = ["--state", redis_server.url]
    with ServerProcess([*state, "--reset-on-start"]) as first, ServerProcess(state) as second:
        yield first, second


@pytest.fixture
def clients(instances: tuple[ServerProcess, ServerProcess]) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    first, second = instances
    with (
        httpx.Client(base_url=first.base_url, timeout=30) as a,
        httpx.Client(base_url=second.base_url, timeout=30) as b,
    ):
        assert a.post("/_mock/reset").status_code == 204
        yield a, b


def test_redis_token_minted_on_one_instance_works_on_the_other(clients) -> None:
    a, b = clients
    token = customer_token(a, ALICE["email"]).json()["access_token"]

    profile = b.get(f"/customer/{TENANT}/me", headers=bearer(token))

    assert profile.status_code == 200
    assert profile.json()["accounts"] == [{"id": ALICE["email"]}]


def test_redis_reset_requested_on_one_instance_completes_on_the_other(clients) -> None:
    a, b = clients
    requested = a.post(
        f"/customer/{TENANT}/password/reset", json={"email": BOB["email"]}, headers=bearer(anonymous_token(a))
    )
    assert requested.status_code == 204

    token = latest_token(b, BOB["email"])  # the email is in B's outbox
    reset = b.post(
        f"/customer/{TENANT}/password/reset/update",
        json={"token": token, "password": "reset-on-b-1"},
        headers=bearer(anonymous_token(b)),
    )

    assert reset.status_code == 204
    assert customer_token(a, BOB["email"], "reset-on-b-1").status_code == 201
    assert customer_token(a, BOB["email"], BOB["password"]).status_code == 400


def test_redis_one_email_token_used_16_times_across_instances_gives_one_204(clients) -> None:
    a, b = clients
    a.post(
        f"/customer/{TENANT}/password/reset",
        json={"email": ALICE["email"]},
        headers=bearer(anonymous_token(a)),
    )
    token = latest_token(a, ALICE["email"])
    bearers = [bearer(anonymous_token(http)) for http in (a, b)]
    barrier = threading.Barrier(RACERS)
    statuses: list[int] = [0] * RACERS

    def race(index: int) -> None:
        base_url = (a if index % 2 == 0 else b).base_url
        with httpx.Client(base_url=base_url, timeout=60) as http:
            http.get("/_mock/health")  # connected before the start
            barrier.wait()
            statuses[index] = http.post(
                f"/customer/{TENANT}/password/reset/update",
                json={"token": token, "password": f"racer-pass-{index}"},
                headers=bearers[index % 2],
            ).status_code

    threads = [threading.Thread(target=race, args=(index,)) for index in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counter(statuses) == {204: 1, 400: RACERS - 1}
    winner = statuses.index(204)
    assert customer_token(b, ALICE["email"], f"racer-pass-{winner}").status_code == 201


def test_redis_clock_and_reset_are_shared(clients) -> None:
    a, b = clients
    assert a.post("/_mock/clock", json={"advanceSeconds": 3600}).status_code == 200
    assert b.get("/_mock/clock").json()["offsetSeconds"] == 3600

    b.post("/_mock/tenants/demo/customers", json={"email": "new@example.com", "password": "new-pass-1"})
    assert a.post("/_mock/reset").status_code == 204

    assert b.get("/_mock/clock").json()["offsetSeconds"] == 0
    assert "new@example.com" not in {c["email"] for c in b.get(f"/_mock/tenants/{TENANT}/customers").json()}


# SQLite across a kill -9 -------------------------------------------------------------------------


def test_sqlite_password_change_survives_kill_9(tmp_path: Path) -> None:
    state = ["--state", f"sqlite:///{tmp_path / 'state.db'}"]
    server = ServerProcess(state).start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            token = customer_token(http, ALICE["email"]).json()["access_token"]
            changed = http.post(
                f"/customer/{TENANT}/password/change",
                json={"currentPassword": ALICE["password"], "newPassword": "after-the-crash"},
                headers=bearer(token),
            )
            assert changed.status_code == 204
        server.process.send_signal(signal.SIGKILL)  # no shutdown of any kind
        server.process.wait(timeout=10)
    finally:
        server.stop()

    with ServerProcess(state) as restarted, httpx.Client(base_url=restarted.base_url, timeout=30) as http:
        assert customer_token(http, ALICE["email"], "after-the-crash").status_code == 201
        assert customer_token(http, ALICE["email"], ALICE["password"]).status_code == 400
    with sqlite3.connect(tmp_path / "state.db") as database:
        assert database.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


# What the command refuses, and never prints -------------------------------------------------------


def serve_refusal(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    """Exit status, output and errors of ``credmock serve`` refusing to start (it never binds)."""
    status = main(["serve", "--port", "0", *arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (["--workers", "2"], "--workers 2 needs a shared store"),
        (["--workers", "2", "--state", "sqlite:///x.db", "--seed", "1"], "every worker would draw the same"),
        (["--state", "postgres://db/credmock"], "--state must be"),
    ],
    ids=["workers-with-memory", "workers-with-seed", "unknown-store"],
)
def test_serve_refuses_in_one_line(capsys, arguments: list[str], reason: str) -> None:
    status, out, err = serve_refusal(capsys, *arguments)

    assert (status, out) == (2, "")
    assert len(err.strip().splitlines()) == 1
    assert reason in err


def test_store_password_and_url_never_printed(tmp_path: Path, capsys) -> None:
    password = "s3cret-redis-password"
    with RedisServer(tmp_path, password=password) as redis:
        server = ServerProcess(["--state", redis.url, "--log-level", "debug"]).start()
        httpx.get(f"{server.base_url}/_mock/health", timeout=10)
        output = server.stop()
        status, _, err = serve_refusal(capsys, "--state", redis.url.replace(password, "wrong-password"))

    assert "Redis" in output
    assert password not in output and str(redis.port) not in output
    assert status == 2
    assert "refused the password" in err
    assert "wrong-password" not in err and str(redis.port) not in err


def test_redis_gone_while_serving_answers_500_without_its_address(tmp_path: Path) -> None:
    with RedisServer(tmp_path, password="gone-password") as redis:
        server = ServerProcess(["--state", redis.url]).start()
    try:
        response = httpx.post(
            f"{server.base_url}/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"}, timeout=30
        )
        assert response.status_code == 500
        assert response.json()["status"] == 500
    finally:
        output = server.stop()
    assert "the Redis store failed" in output
    assert "gone-password" not in output and str(redis.port) not in output
