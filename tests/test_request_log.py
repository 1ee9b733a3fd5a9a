"""The request log of ``credmock serve``: one line per request on stdout, with why each error
was answered, never a token or a password."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import httpx
import pytest

from credmock.observe.request_log import clock_text
from credmock.tools.testing import ServerProcess, free_port
from tests.conftest import ALICE, TENANT

CHANGE = f"/customer/{TENANT}/password/change"
SECRET_TOKEN = "not-a-token-but-secret-1"


def test_request_without_token_prints_one_line_with_its_reason() -> None:
    with ServerProcess() as server:
        response = httpx.post(
            f"{server.base_url}{CHANGE}",
            json={"currentPassword": ALICE["password"], "newPassword": "n3w-secret"},
        )
        line = server.wait_for_line(f"POST {CHANGE}")

    assert response.status_code == 401
    assert " 401 " in line
    assert line.rstrip().endswith("no access token: no Authorization header")
    assert " ms " in line


def test_log_names_unknown_tokens_and_never_prints_secrets() -> None:
    with ServerProcess() as server:
        httpx.post(
            f"{server.base_url}{CHANGE}",
            json={"currentPassword": ALICE["password"], "newPassword": "n3w-secret"},
            headers={"Authorization": f"Bearer {SECRET_TOKEN}"},
        )
        line = server.wait_for_line(f"POST {CHANGE}")
        output = server.stop()

    assert "401" in line and "token unknown: never issued or purged" in line
    for secret in (SECRET_TOKEN, ALICE["password"], "n3w-secret"):
        assert secret not in output


def test_json_log_format_gives_one_object_per_line() -> None:
    with ServerProcess(["--log-format", "json"]) as server:
        token = httpx.post(
            f"{server.base_url}/_mock/tokens",
            json={"tenant": TENANT, "kind": "customer", "email": ALICE["email"]},
        ).json()["access_token"]
        httpx.post(
            f"{server.base_url}{CHANGE}",
            json={"currentPassword": ALICE["password"], "newPassword": "abc"},
            headers={"Authorization": f"Bearer {token}"},
        )
        line = server.wait_for_line(f'"path": "{CHANGE}"')
        output = server.stop()

    entry = json.loads(line)
    assert entry["status"] == 400
    assert entry["reason"] == "newPassword: shorter than 6"
    assert entry["operationId"] == "POST-customer-change-account-password"
    assert entry["tenant"] == TENANT
    assert entry["durationMs"] >= 0
    assert token not in output


def test_quiet_prints_no_request_line() -> None:
    with ServerProcess(["--quiet"]) as server:
        assert httpx.post(f"{server.base_url}{CHANGE}", json={}).status_code == 401
        output = server.stop()

    assert "credmock serving" in output  # the banner, and nothing about the request
    assert f"{server.base_url}/_mock/inbox" in output  # the banner shows the inbox page
    assert CHANGE not in output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--latency", "fast"], "is not MIN-MAX milliseconds"),
        (["--latency", "800-200"], "0 <= MIN <= MAX"),
        (["--log-format", "xml"], "invalid choice"),
        (["--smtp-url", "http://127.0.0.1:1025"], "smtp://HOST:PORT"),
    ],
)
def test_bad_observation_options_stop_the_server_at_start(arguments: list[str], message: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "credmock.tools.cli", "serve", "--port", str(free_port()), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 2
    assert message in completed.stderr


@pytest.mark.parametrize(
    "timestamp",
    [
        1_790_000_000.0,
        1_790_000_000.0004996,
        1_790_000_000.0009996,
        1_790_000_000.9999996,
        1_790_003_599.123456,
    ],
)
def test_log_clock_reads_as_datetime_formats_it(timestamp: float) -> None:
    expected = datetime.fromtimestamp(timestamp).strftime("%H:%M:%S.%f")[:-3]

    assert clock_text(timestamp) == expected

