"""State that outlives a process and spans processes, against `credmock serve` as users start it:
two instances on one Redis, a SQLite file across a `kill -9`, and what the command refuses or
never prints."""

from __future__ import annotations

import contextlib
import functools
import json
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from credmock.core.email_address import email_key
from credmock.tools.cli import main
from credmock.tools.testing import RedisServer, ServerProcess
from tests.conftest import ALICE, BOB, TENANT, bearer
from tests.stores import SHARED_STORES
from tests.test_smtp import start_smtp, wait_for

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


def refused_soon(http: httpx.Client, token: str, grace: float) -> bool:
    """Whether ``http``'s instance answers 401 to ``token`` within ``grace`` seconds (at once for
    0): an instance that kept the token without hearing of the change never refuses it."""
    deadline = time.monotonic() + grace
    while True:
        status = http.get(f"/customer/{TENANT}/me", headers=bearer(token)).status_code
        if status == 401 or time.monotonic() > deadline:
            return status == 401
        time.sleep(0.01)


@pytest.fixture(scope="module")
def sqlite_instances(tmp_path_factory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    state = ["--state", f"sqlite:///{tmp_path_factory.mktemp('shared') / 'state.db'}"]
    with ServerProcess([*state, "--reset-on-start"]) as first, ServerProcess(state) as second:
        yield first, second


# How late another instance's change may reach an instance that kept a token: with Redis, when
# Redis's announcement does, a fraction of a millisecond later; with SQLite, the instance sees
# the file's next commit on its very next request.
GRACE = {"redis": 0.5, "sqlite": 0.0}


@pytest.fixture(params=SHARED_STORES)
def keeping_clients(request) -> Iterator[tuple[httpx.Client, httpx.Client, float]]:
    """Two instances on one shared store, each keeping the tokens it checked, and the grace."""
    first, second = request.getfixturevalue("instances" if request.param == "redis" else "sqlite_instances")
    with (
        httpx.Client(base_url=first.base_url, timeout=30) as a,
        httpx.Client(base_url=second.base_url, timeout=30) as b,
    ):
        assert a.post("/_mock/reset").status_code == 204
        yield a, b, GRACE[request.param]


def test_token_logged_out_on_one_instance_is_refused_by_the_other_that_kept_it(keeping_clients) -> None:
    """B checks again the tokens it checked from what it keeps (Redis: while Redis announces their
    changes to it; SQLite: until the file's next commit): A's logout must reach B."""
    a, b, grace = keeping_clients
    token = customer_token(a, ALICE["email"]).json()["access_token"]
    for _ in range(3):  # checked, kept, and checked again from what B keeps
        assert b.get(f"/customer/{TENANT}/me", headers=bearer(token)).status_code == 200

    logout = a.get(f"/customer/{TENANT}/logout", params={"accessToken": token}, headers=bearer(token))

    assert logout.status_code == 204
    assert refused_soon(b, token, grace)
    assert a.get(f"/customer/{TENANT}/me", headers=bearer(token)).status_code == 401


def test_clock_moved_on_one_instance_expires_the_token_the_other_kept(keeping_clients) -> None:
    a, b, grace = keeping_clients
    token = customer_token(a, ALICE["email"]).json()["access_token"]
    assert b.get(f"/customer/{TENANT}/me", headers=bearer(token)).status_code == 200

    assert a.post("/_mock/clock", json={"advanceSeconds": 30 * 86_400}).status_code == 200

    assert refused_soon(b, token, grace)


def test_redis_restarted_empty_the_tokens_an_instance_kept_are_refused(tmp_path: Path) -> None:
    """Redis restarted without its data: the tokens it held are gone, and an instance that kept
    them forgets them with the connection that told it of changes. A reset request for an
    unknown address needs nothing but the token: 204 while it is valid, 401 once it is not."""
    with (
        RedisServer(tmp_path) as redis,
        ServerProcess(["--state", redis.url, "--reset-on-start"]) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as http,
    ):
        token = anonymous_token(http)

        def reset_request() -> int:
            body = {"email": "nobody@example.com"}
            answer = http.post(f"/customer/{TENANT}/password/reset", json=body, headers=bearer(token))
            return answer.status_code

        assert [reset_request() for _ in range(3)] == [204, 204, 204]

        redis.stop()
        redis.start()

        assert reset_request() == 401


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


def test_redis_gone_while_serving_answers_503_without_its_address(tmp_path: Path) -> None:
    with RedisServer(tmp_path, password="gone-password") as redis:
        server = ServerProcess(["--state", redis.url]).start()
    try:
        response = httpx.post(
            f"{server.base_url}/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"}, timeout=30
        )
        assert response.status_code == 503
        assert response.json()["type"] == "service_unavailable" and "Redis" in response.json()["message"]
    finally:
        output = server.stop()
    assert "the Redis store failed" in output
    assert "gone-password" not in output and str(redis.port) not in output


# A reset on one instance while another writes ---------------------------------------------------
#
# B writes (signups, tokens, reset and email-change requests, password changes) from several
# threads while A resets over and over; the assertions hold whatever the interleaving: no request
# answers outside what a vanished customer or token explains, the store's invariants hold
# afterwards, and one more reset gives exactly the fixtures.

RESETS = 12
ROUNDS_PER_WRITER = 6
WRITERS = 3
OUTBOX_CAPACITY = 8
# Fake customers make each reset's fill long enough for B's writes to meet it.
FAKE_CUSTOMERS = 100
# What each of B's requests may answer while A resets: its customer or token may vanish under it.
ALLOWED = {
    "create": {201},
    "customer-token": {201, 404},
    "anonymous-token": {201},
    "request-reset": {204, 401},
    "change-email": {204, 401},
    "change-password": {204, 401},
}


def write_rounds(base_url: str, writer: int, done: threading.Event, rounds: list[int], seen: Counter) -> None:
    """One writer on B: rounds of writes until ``done``, counting its finished rounds."""
    with httpx.Client(base_url=base_url, timeout=60) as http:
        while not done.is_set():
            email = f"writer{writer}-{rounds[writer]}@example.com"
            calls = [
                (
                    "create",
                    http.post(
                        f"/_mock/tenants/{TENANT}/customers", json={"email": email, "password": "writer-1"}
                    ),
                )
            ]
            token = customer_token(http, email)
            anonymous = http.post("/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"})
            calls += [("customer-token", token), ("anonymous-token", anonymous)]
            if anonymous.status_code == 201:
                calls += [
                    (
                        "request-reset",
                        http.post(
                            f"/customer/{TENANT}/password/reset",
                            json={"email": to},
                            headers=bearer(anonymous.json()["access_token"]),
                        ),
                    )
                    for to in (email, ALICE["email"])
                ]
            if token.status_code == 201:
                auth = bearer(token.json()["access_token"])
                change = {"email": email, "password": "writer-1", "newEmail": f"moved-{email}"}
                calls.append(
                    (
                        "change-email",
                        http.post(
                            f"/customer/{TENANT}/me/accounts/internal/email/change", json=change, headers=auth
                        ),
                    )
                )
                passwords = {"currentPassword": "writer-1", "newPassword": "writer-2"}
                calls.append(
                    (
                        "change-password",
                        http.post(f"/customer/{TENANT}/password/change", json=passwords, headers=auth),
                    )
                )
            for name, response in calls:
                seen[(name, response.status_code)] += 1
            rounds[writer] += 1


def reset_while_writing(a: httpx.Client, b: httpx.Client) -> Counter:
    """A resets at least RESETS times and until every writer on B has finished ROUNDS_PER_WRITER
    rounds: resets and writes overlap however the machine schedules them."""
    done = threading.Event()
    rounds = [0] * WRITERS
    seen: Counter = Counter()
    writers = [
        threading.Thread(target=write_rounds, args=(str(b.base_url), writer, done, rounds, seen))
        for writer in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    try:
        resets = 0
        while resets < RESETS or min(rounds) < ROUNDS_PER_WRITER:
            assert a.post("/_mock/reset").status_code == 204
            resets += 1
            assert all(writer.is_alive() for writer in writers), "a writer on B failed"
    finally:
        done.set()
        for writer in writers:
            writer.join()
    return seen


def redis_invariants(url: str) -> list[str]:
    """What is wrong in the Redis database credmock keeps: an empty list when nothing is."""
    import redis

    db = redis.Redis.from_url(url, decode_responses=True)
    problems = []
    tenants = db.lrange("credmock:tenants", 0, -1)
    customers = {}
    for key in db.scan_iter(match="credmock:customer:*"):
        _, _, tenant, customer_id = key.split(":", 3)
        customers[(tenant, customer_id)] = json.loads(db.get(key))
    for (tenant, customer_id), record in customers.items():
        if db.hget(f"credmock:emails:{tenant}", email_key(record["email"])) != customer_id:
            problems.append(f"customer {customer_id} not reachable by its email {record['email']}")
        if customer_id not in db.lrange(f"credmock:customers:{tenant}", 0, -1):
            problems.append(f"customer {customer_id} missing from the list of tenant {tenant}")
        if tenant not in tenants:
            problems.append(f"tenant {tenant} of customer {customer_id} missing from the tenants")
    for key in db.scan_iter(match="credmock:emails:*"):
        tenant = key.split(":", 2)[2]
        for address, customer_id in db.hgetall(key).items():
            if (tenant, customer_id) not in customers:
                problems.append(f"email {address} indexes customer {customer_id}, who does not exist")
    for key in db.scan_iter(match="credmock:customers:*"):
        tenant = key.split(":", 2)[2]
        for customer_id in db.lrange(key, 0, -1):
            if (tenant, customer_id) not in customers:
                problems.append(f"tenant {tenant} lists customer {customer_id}, who does not exist")
    if int(db.get("credmock:customer_count") or 0) != len(customers):
        problems.append(f"customer_count {db.get('credmock:customer_count')} for {len(customers)} customers")
    for key in db.scan_iter(match="credmock:access:*"):
        token = json.loads(db.get(key))
        if token["customer_id"] is not None and (token["tenant"], token["customer_id"]) not in customers:
            problems.append(f"access token of customer {token['customer_id']}, who does not exist")
    for key in db.scan_iter(match="credmock:refresh:*"):
        if not db.exists(f"credmock:access:{db.get(key)}"):
            problems.append("a refresh token of an access token that does not exist")
    for key in db.scan_iter(match="credmock:email_token:*"):
        token = json.loads(db.get(key))
        if (token["tenant"], token["customer_id"]) not in customers:
            problems.append(f"email token of customer {token['customer_id']}, who does not exist")
        live = f"credmock:live_email_token:{token['tenant']}:{token['customer_id']}:{token['purpose']}"
        if db.get(live) != token["value"]:
            problems.append(f"email token of customer {token['customer_id']} is not its live one")
    for key in db.scan_iter(match="credmock:live_email_token:*"):
        if not db.exists(f"credmock:email_token:{db.get(key)}"):
            problems.append(f"{key} names a token that does not exist")
    if db.llen("credmock:outbox") > OUTBOX_CAPACITY:
        problems.append(f"outbox holds {db.llen('credmock:outbox')} emails, more than {OUTBOX_CAPACITY}")
    db.close()
    return problems


def sqlite_invariants(path: Path) -> list[str]:
    """What is wrong in the SQLite file credmock keeps: an empty list when nothing is."""
    problems = []
    with contextlib.closing(sqlite3.connect(path)) as db:
        for customer_id, key, record in db.execute("SELECT id, email_key, record FROM customers"):
            if key != email_key(json.loads(record)["email"]):
                problems.append(f"customer {customer_id} indexed under {key}, not its email")
        for table in ("access_tokens", "email_tokens"):
            (orphans,) = db.execute(
                f"SELECT COUNT(*) FROM {table} t WHERE t.customer_id IS NOT NULL AND NOT EXISTS "
                "(SELECT 1 FROM customers c WHERE c.tenant = t.tenant AND c.id = t.customer_id)"
            ).fetchone()
            if orphans:
                problems.append(f"{orphans} {table} of customers who do not exist")
        (missing,) = db.execute(
            "SELECT COUNT(*) FROM customers c "
            "WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.name = c.tenant)"
        ).fetchone()
        if missing:
            problems.append(f"{missing} customers of tenants missing from the tenants")
        (emails,) = db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        if emails > OUTBOX_CAPACITY:
            problems.append(f"outbox holds {emails} emails, more than {OUTBOX_CAPACITY}")
    return problems


@pytest.mark.parametrize("kind", SHARED_STORES)
def test_reset_on_one_instance_while_the_other_writes_keeps_the_store_whole(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if kind == "redis":
        url = request.getfixturevalue("redis_server").url
        invariants = functools.partial(redis_invariants, url)
    else:
        url = f"sqlite:///{tmp_path / 'state.db'}"
        invariants = functools.partial(sqlite_invariants, tmp_path / "state.db")
    state = [
        "--state",
        url,
        "--outbox-capacity",
        str(OUTBOX_CAPACITY),
        "--fake-customers",
        str(FAKE_CUSTOMERS),
    ]
    with (
        ServerProcess([*state, "--reset-on-start"]) as first,
        ServerProcess(state) as second,
        httpx.Client(base_url=first.base_url, timeout=60) as a,
        httpx.Client(base_url=second.base_url, timeout=60) as b,
    ):
        fresh = b.get("/_mock/health").json()
        seen = reset_while_writing(a, b)

        assert {call: count for call, count in seen.items() if call[1] not in ALLOWED[call[0]]} == {}
        assert invariants() == []
        assert a.post("/_mock/reset").status_code == 204
        assert b.get("/_mock/health").json() == fresh
        assert invariants() == []


def test_redis_delivery_status_of_an_email_sent_by_one_instance_shows_on_the_other(redis_server) -> None:
    controller, recorder = start_smtp()
    smtp_url = f"smtp://127.0.0.1:{controller.port}"
    try:
        with (
            ServerProcess(["--state", redis_server.url, "--reset-on-start", "--smtp-url", smtp_url]) as first,
            ServerProcess(["--state", redis_server.url]) as second,
            httpx.Client(base_url=first.base_url, timeout=30) as a,
            httpx.Client(base_url=second.base_url, timeout=30) as b,
        ):
            requested = a.post(
                f"/customer/{TENANT}/password/reset",
                json={"email": ALICE["email"]},
                headers=bearer(anonymous_token(a)),
            )
            assert requested.status_code == 204

            def delivery_on_b() -> dict:
                return b.get("/_mock/outbox/latest", params={"to": ALICE["email"]}).json().get("delivery", {})

            assert wait_for(lambda: delivery_on_b().get("status") == "sent", "the sent status on B")
            assert len(recorder.envelopes) == 1
            assert delivery_on_b() == a.get("/_mock/outbox/latest").json()["delivery"]
    finally:
        controller.stop()
