"""A shared store that stops, hangs, is locked, read-only, damaged or refuses writes, against
`credmock serve` as users start it, over a real redis-server and real SQLite files.

What a user notices: a request that needs the store answers 503 (``ErrorMessage``, naming the
store's kind, never its address, with ``Retry-After``) within the store's deadline, a request
that needs no store answers at once, health tells the truth, the server recovers by itself and
nothing it acknowledged is lost; a store that cannot be used at start is refused in one line."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import redis

from credmock.app import CONTRACT_SPEC, MOCK_API_SPEC, load_spec
from credmock.tools.contract import ContractChecker
from credmock.tools.testing import RedisServer, ServerProcess, redis_server_path
from tests.conftest import ALICE, TENANT, bearer

STORE_TIMEOUT = 1.0
# A request that waits on the store: its deadline, plus generous room for a loaded machine.
STORE_BOUND = STORE_TIMEOUT + 2.5
# A request that needs no store, while the store hangs.
NO_STORE_BOUND = 1.0
NEW_PASSWORD = "after-the-outage"

CONTRACT = load_spec(CONTRACT_SPEC)
MOCK_API = ContractChecker(load_spec(MOCK_API_SPEC))


def require_redis() -> None:
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed (scripts/install-redis.sh installs it)")


def assert_unavailable(response: httpx.Response, kind: str, secrets: tuple[str, ...] = ()) -> None:
    """503, ``Retry-After``, the contract's ErrorMessage naming the store's kind and nothing of
    its address."""
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    schema = {**CONTRACT["components"]["schemas"]["ErrorMessage"], "components": CONTRACT["components"]}
    jsonschema.validate(body, schema)
    assert body["status"] == 503 and body["type"] == "service_unavailable"
    assert kind in body["message"]
    for secret in secrets:
        assert secret not in response.text
    if MOCK_API.describes(response.request.method, str(response.request.url)):
        assert not MOCK_API.check_httpx(response)


def timed(call: Any, *args: Any, **kwargs: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def wait_until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.1)


def health_status(http: httpx.Client) -> int:
    return http.get("/_mock/health").status_code


def anonymous_token(http: httpx.Client) -> str:
    return http.post("/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"}).json()["access_token"]


def can_log_in(http: httpx.Client, password: str) -> bool:
    response = http.post(
        f"/customer/{TENANT}/login",
        json={"email": ALICE["email"], "password": password},
        headers=bearer(anonymous_token(http)),
    )
    return response.status_code == 200


def spent_reset_token(http: httpx.Client) -> str:
    """A reset token used once (ALICE's password is then NEW_PASSWORD): acknowledged state."""
    anonymous = bearer(anonymous_token(http))
    requested = http.post(
        f"/customer/{TENANT}/password/reset", json={"email": ALICE["email"]}, headers=anonymous
    )
    assert requested.status_code == 204, requested.text
    token = http.get("/_mock/outbox/latest", params={"to": ALICE["email"]}).json()["token"]
    used = http.post(
        f"/customer/{TENANT}/password/reset/update",
        json={"token": token, "password": NEW_PASSWORD},
        headers=anonymous,
    )
    assert used.status_code == 204, used.text
    return token


def assert_nothing_lost(http: httpx.Client, spent_token: str) -> None:
    """The change acknowledged before the outage holds, and the token spent then stays spent."""
    assert can_log_in(http, NEW_PASSWORD)
    again = http.post(
        f"/customer/{TENANT}/password/reset/update",
        json={"token": spent_token, "password": "a-second-use"},
        headers=bearer(anonymous_token(http)),
    )
    assert again.status_code == 400 and again.json()["type"] == "invalid_token"


def assert_no_store_needed_answers_at_once(http: httpx.Client) -> None:
    for path in ("/openapi.json", "/_mock/live", "/_mock/requests"):
        response, seconds = timed(http.get, path)
        assert response.status_code == 200, (path, response.text)
        assert seconds < NO_STORE_BOUND, (path, seconds)


def reset_request(http: httpx.Client, token: str) -> httpx.Response:
    return http.post(
        f"/customer/{TENANT}/password/reset", json={"email": ALICE["email"]}, headers=bearer(token)
    )


def reset_request_aside(base_url: str, token: str) -> tuple[threading.Thread, dict[str, Any]]:
    """A reset request sent by another client from a thread of its own, started: its answer and
    how long it took land in the dict, under "reset"."""
    answer: dict[str, Any] = {}

    def send() -> None:
        with httpx.Client(base_url=base_url, timeout=30) as other:
            answer["reset"] = timed(reset_request, other, token)

    caller = threading.Thread(target=send)
    caller.start()
    return caller, answer


def one_line_reasons(output: str, kind: str) -> list[str]:
    """The server's log lines about its 503s; no traceback anywhere."""
    assert "Traceback" not in output
    return [line for line in output.splitlines() if "503 on" in line and kind in line]


# Redis ------------------------------------------------------------------------------------------


@pytest.fixture
def redis_store(tmp_path: Path) -> Iterator[RedisServer]:
    require_redis()
    with RedisServer(tmp_path, persistent=True) as server:
        yield server


@pytest.fixture
def redis_mock(redis_store: RedisServer) -> Iterator[tuple[ServerProcess, httpx.Client]]:
    arguments = ["--state", redis_store.url, "--store-timeout", str(STORE_TIMEOUT)]
    with ServerProcess(arguments) as server, httpx.Client(base_url=server.base_url, timeout=30) as http:
        yield server, http


def test_redis_stopped_answers_503_then_recovers_without_losing_state(redis_store, redis_mock) -> None:
    server, http = redis_mock
    spent = spent_reset_token(http)
    token = anonymous_token(http)
    redis_store.process.kill()  # type: ignore[union-attr]
    redis_store.process.wait()  # type: ignore[union-attr]
    redis_store.process = None

    address = f"127.0.0.1:{redis_store.port}"
    for response, seconds in (
        timed(http.get, "/_mock/health"),
        timed(reset_request, http, token),
        timed(http.get, "/_mock/outbox"),
    ):
        assert_unavailable(response, "Redis", (address, str(redis_store.port)))
        assert seconds < STORE_BOUND
    assert_no_store_needed_answers_at_once(http)
    journal = http.get("/_mock/requests").json()
    assert any(entry["status"] == 503 for entry in journal)

    redis_store.start()
    wait_until(lambda: health_status(http) == 200)
    assert_nothing_lost(http, spent)
    assert one_line_reasons(server.stop(), "Redis")


def test_redis_paused_answers_503_within_its_deadline_and_never_holds_other_requests(
    redis_store, redis_mock
) -> None:
    server, http = redis_mock
    spent = spent_reset_token(http)
    token = anonymous_token(http)
    redis_store.process.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
    try:
        waiting: dict[str, tuple[httpx.Response, float]] = {}
        with httpx.Client(base_url=server.base_url, timeout=30) as other:
            caller = threading.Thread(
                target=lambda: waiting.setdefault("reset", timed(reset_request, other, token))
            )
            caller.start()
            time.sleep(0.2)  # the reset request now waits on the paused Redis
            assert_no_store_needed_answers_at_once(http)
            caller.join()
            # Its answer is counted in the API coverage, written to the paused Redis: off the loop.
            assert_no_store_needed_answers_at_once(http)
        response, seconds = waiting["reset"]
        assert_unavailable(response, "Redis")
        assert STORE_TIMEOUT * 0.9 <= seconds < STORE_BOUND
        health, seconds = timed(http.get, "/_mock/health")
        assert_unavailable(health, "Redis")
        assert seconds < STORE_BOUND
    finally:
        redis_store.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
    wait_until(lambda: health_status(http) == 200)
    assert reset_request(http, token).status_code == 204
    assert_nothing_lost(http, spent)
    assert one_line_reasons(server.stop(), "Redis")


def concurrent_reset_requests(base_url: str, token: str, requests: int) -> list[tuple[httpx.Response, float]]:
    answers: list[tuple[httpx.Response, float]] = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        callers = [
            threading.Thread(target=lambda: answers.append(timed(reset_request, client, token)))
            for _ in range(requests)
        ]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
    return answers


def test_redis_serves_more_requests_at_once_than_its_connections_and_bounds_them_when_paused(
    redis_store, redis_mock
) -> None:
    """More requests at once than the 32 connections to Redis: when Redis blinks, each waits its
    turn and is answered; when it stays paused, each answers 503 within its own deadline, the
    ones waiting for a connection included, while the loop stays free."""
    server, http = redis_mock
    token = anonymous_token(http)
    requests = 64
    # Redis blinks for less than the deadline while all of them wait: each is answered.
    blinked: list[tuple[httpx.Response, float]] = []
    redis_store.process.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
    try:
        caller = threading.Thread(
            target=lambda: blinked.extend(concurrent_reset_requests(server.base_url, token, requests))
        )
        caller.start()
        time.sleep(STORE_TIMEOUT * 0.3)
    finally:
        redis_store.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
    caller.join()
    assert sorted(response.status_code for response, _ in blinked) == [204] * requests

    redis_store.process.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
    try:
        paused: list[tuple[httpx.Response, float]] = []
        caller = threading.Thread(
            target=lambda: paused.extend(concurrent_reset_requests(server.base_url, token, requests))
        )
        caller.start()
        time.sleep(0.3)
        assert_no_store_needed_answers_at_once(http)
        caller.join()
    finally:
        redis_store.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
    assert len(paused) == requests
    for response, seconds in paused:
        assert_unavailable(response, "Redis")
        assert seconds < STORE_BOUND
    wait_until(lambda: health_status(http) == 200)
    assert reset_request(http, token).status_code == 204


def test_redis_out_of_memory_answers_503_to_writes_while_reads_go_on(redis_store, redis_mock) -> None:
    _, http = redis_mock
    token = anonymous_token(http)
    admin = redis.Redis(port=redis_store.port)
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", "1")
    try:
        assert_unavailable(reset_request(http, token), "Redis")
        assert http.get(f"/_mock/tenants/{TENANT}/customers").status_code == 200
    finally:
        admin.config_set("maxmemory", "0")
    assert reset_request(http, token).status_code == 204


def refused_at_start(arguments: list[str]) -> str:
    """What ``credmock serve`` prints when it refuses to start: exit status 2, one line."""
    result = subprocess.run(
        [sys.executable, "-m", "credmock.tools.cli", "serve", "--port", "0", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "credmock serving" not in result.stdout
    return lines[0]


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        (("replicaof", "127.0.0.1 1"), "read only replica"),
        (("min-replicas-to-write", "1"), "Not enough good replicas"),
        (("maxmemory", "1"), "maxmemory"),
    ],
    ids=["replica", "too-few-replicas", "out-of-memory"],
)
def test_redis_refusing_writes_is_refused_at_start(redis_store, setting, problem) -> None:
    admin = redis.Redis(port=redis_store.port)
    admin.config_set("maxmemory-policy", "noeviction")
    if setting[0] == "replicaof":
        admin.replicaof(*setting[1].split())
    else:
        admin.config_set(*setting)
    line = refused_at_start(["--state", redis_store.url])
    assert "refuses writes" in line and problem in line and str(redis_store.port) not in line


# SQLite -----------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_mock(tmp_path: Path) -> Iterator[tuple[Path, ServerProcess, httpx.Client]]:
    path = tmp_path / "state.db"
    arguments = ["--state", f"sqlite:///{path}", "--store-timeout", str(STORE_TIMEOUT)]
    with ServerProcess(arguments) as server, httpx.Client(base_url=server.base_url, timeout=30) as http:
        yield path, server, http


@pytest.fixture
def sqlite_lock_holder() -> Iterator[Any]:
    """``hold(path)``: another process holds the SQLite file's write lock until the test ends."""
    holders: list[subprocess.Popen[str]] = []

    def hold(path: Path) -> subprocess.Popen[str]:
        script = (
            "import sqlite3, sys\n"
            f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "db.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n"
        )
        holder = subprocess.Popen(
            [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        holders.append(holder)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        return holder

    yield hold
    for holder in holders:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_sqlite_locked_by_another_process_answers_503_to_writes_and_nothing_waits_on_it(
    sqlite_mock, sqlite_lock_holder
) -> None:
    path, server, http = sqlite_mock
    spent = spent_reset_token(http)
    token = anonymous_token(http)
    holder = sqlite_lock_holder(path)

    caller, waiting = reset_request_aside(server.base_url, token)
    time.sleep(0.2)  # the reset request now waits for the lock
    assert_no_store_needed_answers_at_once(http)
    health, seconds = timed(http.get, "/_mock/health")  # a read: WAL readers pass a writer's lock
    assert health.status_code == 200 and seconds < NO_STORE_BOUND
    # A request that only reads (no customer has this address) is answered at once too.
    unknown, seconds = timed(
        http.post,
        f"/customer/{TENANT}/password/reset",
        json={"email": "nobody@example.com"},
        headers=bearer(token),
    )
    assert unknown.status_code == 204 and seconds < NO_STORE_BOUND, unknown.text
    caller.join()
    # Its answer is counted in the API coverage, a write that waits for the lock: off the loop.
    assert_no_store_needed_answers_at_once(http)
    response, seconds = waiting["reset"]
    assert_unavailable(response, "SQLite", (str(path),))
    assert STORE_TIMEOUT * 0.9 <= seconds < STORE_BOUND

    holder.stdin.close()  # type: ignore[union-attr]  # the other process ends, its lock with it
    holder.wait(timeout=10)
    assert reset_request(http, token).status_code == 204
    assert_nothing_lost(http, spent)
    assert one_line_reasons(server.stop(), "SQLite")


def test_sqlite_write_waits_for_a_lock_released_in_time_and_takes_effect_once(
    sqlite_mock, sqlite_lock_holder
) -> None:
    """A rule runs directly on the event loop first; a write refused for another process's lock
    sends it, unchanged, to its portal, where it waits for the lock. What the rule does (a reset
    token, its email) happens once, not once per attempt."""
    path, server, http = sqlite_mock
    token = anonymous_token(http)
    emails_before = len(http.get("/_mock/outbox", params={"to": ALICE["email"]}).json())
    holder = sqlite_lock_holder(path)

    caller, answer = reset_request_aside(server.base_url, token)
    time.sleep(0.3)  # the request now waits for the lock
    assert "reset" not in answer
    assert_no_store_needed_answers_at_once(http)
    holder.stdin.close()  # type: ignore[union-attr]  # released well within the deadline
    holder.wait(timeout=10)
    caller.join()

    response, seconds = answer["reset"]
    assert response.status_code == 204, response.text
    assert 0.3 <= seconds < STORE_TIMEOUT
    assert len(http.get("/_mock/outbox", params={"to": ALICE["email"]}).json()) == emails_before + 1
    latest = http.get("/_mock/outbox/latest", params={"to": ALICE["email"]}).json()
    reset = http.post(
        f"/customer/{TENANT}/password/reset/update",
        json={"token": latest["token"], "password": "after-the-lock-1"},
        headers=bearer(token),
    )
    assert reset.status_code == 204 and can_log_in(http, "after-the-lock-1")


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Any]:
    """``read_only(path)``: a file nobody may write, root included (``chattr +i``: root ignores
    the mode bits), until the test ends."""
    made: list[Path] = []

    def make(path: Path) -> None:
        path.chmod(0o444)
        if os.geteuid() == 0:
            subprocess.run(["chattr", "+i", str(path)], check=True)
        made.append(path)

    yield make
    for path in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=False)
        path.chmod(0o644)


def filled_sqlite_file(folder: Path) -> Path:
    """A state file as a server leaves it: fixtures, a token, a checkpointed journal."""
    path = folder / "state.db"
    with (
        ServerProcess(["--state", f"sqlite:///{path}"]) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        anonymous_token(http)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file itself
    return path


def test_sqlite_read_only_file_is_refused_at_start(tmp_path: Path, read_only) -> None:
    path = filled_sqlite_file(tmp_path)
    read_only(path)
    line = refused_at_start(["--state", f"sqlite:///{path}"])
    assert "readonly" in line.replace("-", "") and "SQLite" in line


def test_sqlite_damaged_file_is_refused_at_start(tmp_path: Path) -> None:
    path = filled_sqlite_file(tmp_path)
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    assert data.startswith(b"SQLite format 3\x00") and len(data) > 3 * page_size
    for page in range(1, len(data) // page_size):  # every page but the first (the header) damaged
        data[page * page_size : page * page_size + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    line = refused_at_start(["--state", f"sqlite:///{path}"])
    assert "SQLite state file" in line and ("damaged" in line or "malformed" in line)


def test_redis_stopped_answers_503_on_the_flask_engine_too(redis_store) -> None:
    arguments = ["--state", redis_store.url, "--store-timeout", str(STORE_TIMEOUT), "--engine", "flask"]
    with ServerProcess(arguments) as server, httpx.Client(base_url=server.base_url, timeout=30) as http:
        token = anonymous_token(http)
        redis_store.stop()
        assert_unavailable(http.get("/_mock/health"), "Redis")
        assert_unavailable(reset_request(http, token), "Redis")
        assert_no_store_needed_answers_at_once(http)
        redis_store.start()
        wait_until(lambda: health_status(http) == 200)
        assert reset_request(http, token).status_code == 204
