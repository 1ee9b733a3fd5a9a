"""`credmock proxy`: exchanges pass unchanged, violations are listed, --strict answers 502."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest

from credmock.settings import Settings
from credmock.tools.proxy import ViolationLog, create_proxy_app, uvicorn_config
from credmock.tools.testing import LiveServer, free_port
from tests.broken_server import ANONYMOUS_TOKEN, Answer, BrokenServer, ThreadedServer
from tests.conftest import ALICE, TENANT, bearer

RESET = f"/customer/{TENANT}/password/reset"
RESET_UPDATE = f"/customer/{TENANT}/password/reset/update"


def start_proxy(upstream: str, **options: bool) -> ThreadedServer:
    return ThreadedServer(
        lambda host, port: uvicorn_config(create_proxy_app(upstream, **options), host, port)
    )


@pytest.fixture(scope="module")
def credmock() -> Iterator[LiveServer]:
    with LiveServer(Settings(seed=11)) as server:
        yield server


@pytest.fixture(scope="module")
def broken() -> Iterator[BrokenServer]:
    with BrokenServer() as server:
        yield server


@pytest.fixture(scope="module")
def credmock_proxy(credmock: LiveServer) -> Iterator[str]:
    with start_proxy(credmock.base_url) as proxy:
        yield proxy.base_url


@pytest.fixture(scope="module")
def broken_proxy(broken: BrokenServer) -> Iterator[str]:
    with start_proxy(broken.base_url) as proxy:
        yield proxy.base_url


@pytest.fixture(scope="module")
def strict_proxy(broken: BrokenServer) -> Iterator[str]:
    with start_proxy(broken.base_url, strict=True) as proxy:
        yield proxy.base_url


@pytest.fixture(autouse=True)
def clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for name in ("credmock_proxy", "broken_proxy", "strict_proxy"):
        if name in request.fixturenames:
            httpx.delete(f"{request.getfixturevalue(name)}/_mock/violations")
    if "broken" in request.fixturenames:
        request.getfixturevalue("broken").answers.clear()


def violations(proxy_url: str) -> list[dict]:
    response = httpx.get(f"{proxy_url}/_mock/violations")
    assert response.status_code == 200
    return response.json()


def anonymous_token(base_url: str) -> str:
    return httpx.post(f"{base_url}/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"}).json()[
        "access_token"
    ]


def test_proxy_credmock_exchanges_pass_unchanged_without_violations(credmock, credmock_proxy):
    token = anonymous_token(credmock_proxy)  # the mock API of the upstream, through the proxy
    sent = httpx.post(f"{credmock_proxy}{RESET}", json={"email": ALICE["email"]}, headers=bearer(token))
    assert sent.status_code == 204
    body = b'{"token": "no-such-token", "password": "new-pass-123"}'
    headers = {**bearer(token), "Content-Type": "application/json", "X-Trace": "t-1"}
    direct = httpx.post(f"{credmock.base_url}{RESET_UPDATE}", content=body, headers=headers)
    proxied = httpx.post(f"{credmock_proxy}{RESET_UPDATE}", content=body, headers=headers)
    assert (
        (proxied.status_code, proxied.content)
        == (direct.status_code, direct.content)
        == (400, direct.content)
    )
    assert [(k, v) for k, v in proxied.headers.multi_items() if k != "date"] == [
        (k, v) for k, v in direct.headers.multi_items() if k != "date"
    ]
    assert violations(credmock_proxy) == []


def test_proxy_request_violation_is_listed_and_the_answer_forwarded(credmock_proxy):
    response = httpx.post(f"{credmock_proxy}{RESET}", json={"email": ALICE["email"]})
    assert response.status_code == 401
    assert response.json()["fault"]["faultstring"] == "Invalid access token"
    [violation] = violations(credmock_proxy)
    assert (violation["part"], violation["status"]) == ("request", 401)
    assert violation["method"] == "POST" and violation["path"] == RESET
    assert "a bearer token is required" in violation["message"]


def test_proxy_paths_outside_the_contract_are_forwarded_unchecked(credmock_proxy):
    assert httpx.get(f"{credmock_proxy}/_mock/health").json()["status"] == "ok"
    assert httpx.get(f"{credmock_proxy}/no/such/path").status_code == 404
    assert violations(credmock_proxy) == []


def test_proxy_broken_response_is_listed_newest_first_and_passed_through(broken, broken_proxy):
    broken.answers["/password/reset"] = Answer(500, "upstream exploded", content_type="text/plain")
    headers = bearer(ANONYMOUS_TOKEN)
    for email in ("one@example.com", "two@example.com"):
        response = httpx.post(f"{broken_proxy}{RESET}", json={"email": email}, headers=headers)
        assert (response.status_code, response.text) == (500, "upstream exploded")
    listed = violations(broken_proxy)
    assert [entry["status"] for entry in listed] == [500, 500]
    assert listed[0]["id"] > listed[1]["id"]
    assert listed[0]["part"] == "response"
    assert (
        listed[0]["message"] == "status 500 is not declared for this operation (declared: 204, 400, 401, 403)"
    )
    assert httpx.delete(f"{broken_proxy}/_mock/violations").status_code == 204
    assert violations(broken_proxy) == []


def test_proxy_strict_answers_a_violating_response_with_502(broken, strict_proxy):
    broken.answers["/password/reset/update"] = Answer(400, {"status": "400", "message": "Bad token."})
    body = {"token": "bogus", "password": "new-pass-123"}
    response = httpx.post(f"{strict_proxy}{RESET_UPDATE}", json=body, headers=bearer(ANONYMOUS_TOKEN))
    assert response.status_code == 502
    error = response.json()
    assert error["type"] == "contract_violation"
    assert "The upstream's 400 response to POST /customer/demo/password/reset/update" in error["message"]
    assert error["details"] == [
        {
            "field": "response",
            "type": "contract_violation",
            "message": "body does not match the schema: status: '400' is not of type 'integer'",
        }
    ]
    assert len(violations(strict_proxy)) == 1
    # A conforming answer passes through the strict proxy unchanged.
    ok = httpx.post(
        f"{strict_proxy}{RESET}", json={"email": "a@example.com"}, headers=bearer(ANONYMOUS_TOKEN)
    )
    assert ok.status_code == 204


def test_proxy_unreachable_upstream_answers_502():
    with start_proxy(f"http://127.0.0.1:{free_port()}") as proxy:
        response = httpx.post(f"{proxy.base_url}{RESET}", json={"email": "a@example.com"})
    assert response.status_code == 502
    assert response.json()["type"] == "bad_gateway"


def test_proxy_violation_log_keeps_the_newest_entries():
    log = ViolationLog(capacity=2)
    for number in range(3):
        log.add("POST", RESET, 500, "response", f"violation {number}")
    assert [entry.message for entry in log.newest_first()] == ["violation 2", "violation 1"]


def test_proxy_command_logs_each_violation_on_one_line(broken):
    """Port 0 and the port read from the banner: a port probed free beforehand could be taken by
    a server of a parallel test before the proxy binds it."""
    broken.answers["/password/reset"] = Answer(200, {"sent": True})
    command = [
        sys.executable,
        "-m",
        "credmock.tools.cli",
        "proxy",
        "--upstream",
        broken.base_url,
        "--port",
        "0",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        watchdog = threading.Timer(60, process.kill)  # a proxy that never starts ends the wait
        watchdog.start()
        banner = process.stdout.readline()  # printed once it listens
        watchdog.cancel()
        found = re.fullmatch(
            rf"credmock proxy on (http://127\.0\.0\.1:\d+) -> {re.escape(broken.base_url)}\n", banner
        )
        assert found, f"the proxy did not start: {banner!r}"
        response = httpx.post(
            f"{found.group(1)}{RESET}", json={"email": "a@example.com"}, headers=bearer(ANONYMOUS_TOKEN)
        )
        assert response.json() == {"sent": True}
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    line = f"credmock proxy: violation: POST {RESET} -> 200: response: status 200 is not declared"
    assert line in stderr
