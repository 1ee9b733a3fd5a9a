"""Safe defaults: the /_mock API hands out tokens and reads mail, so a server reachable from other
machines needs a control token, and a server started with one requires it on /_mock calls."""

from __future__ import annotations

import httpx
import pytest

from credmock.app import create_app
from credmock.settings import Settings
from credmock.tools import cli
from credmock.tools.contract import ContractChecker
from credmock.tools.testing import ServerProcess, free_port
from tests.conftest import ALICE, TENANT, ContractClient, bearer

CONTROL_TOKEN = "ctl-7Kq2-long-enough-to-be-unguessable"
HEADER = "X-Mock-Control-Token"
MOCK_CALLS = [
    ("POST", "/_mock/tokens", {"tenant": TENANT, "kind": "anonymous"}),
    ("GET", "/_mock/outbox", None),
    ("GET", "/_mock/outbox/latest", None),
    ("DELETE", "/_mock/outbox", None),
    ("GET", f"/_mock/tenants/{TENANT}/customers", None),
    ("POST", f"/_mock/tenants/{TENANT}/customers", {"email": "eve@example.com", "password": "eve-pass-5"}),
    ("GET", "/_mock/clock", None),
    ("POST", "/_mock/clock", {"advanceSeconds": 10}),
    ("POST", "/_mock/reset", None),
    ("GET", "/_mock/health", None),
]
CALL_IDS = [f"{method} {path}" for method, path, _ in MOCK_CALLS]


@pytest.fixture
def guarded(checkers: list[ContractChecker]) -> ContractClient:
    return ContractClient(create_app(Settings(seed=3, control_token=CONTROL_TOKEN)), checkers)


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["type"] == "unauthorized"
    assert HEADER in response.json()["message"]


@pytest.mark.parametrize(("method", "path", "body"), MOCK_CALLS, ids=CALL_IDS)
def test_mock_api_without_control_token_is_401(guarded: ContractClient, method: str, path: str, body) -> None:
    assert_unauthorized(guarded.request(method, path, json=body))


@pytest.mark.parametrize(
    "given",
    [
        CONTROL_TOKEN[:-1],
        CONTROL_TOKEN + "x",
        CONTROL_TOKEN.upper(),
        "",
        CONTROL_TOKEN.replace("-", " ", 1),
        "é" * 10,
    ],
    ids=["prefix", "longer", "other case", "empty", "inner space", "non-ascii"],
)
def test_mock_api_wrong_control_token_is_401(guarded: ContractClient, given: str) -> None:
    response = guarded.post(
        "/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"}, headers={HEADER: given.encode("utf-8")}
    )

    assert_unauthorized(response)


@pytest.mark.parametrize(("method", "path", "body"), MOCK_CALLS, ids=CALL_IDS)
def test_mock_api_with_control_token_is_served(guarded: ContractClient, method: str, path: str, body) -> None:
    response = guarded.request(method, path, json=body, headers={HEADER: CONTROL_TOKEN})

    assert response.status_code in (200, 201, 204, 404), response.text  # 404: the outbox is empty


def test_request_reset_password_needs_no_control_token(guarded: ContractClient) -> None:
    token = guarded.post(
        "/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"}, headers={HEADER: CONTROL_TOKEN}
    ).json()["access_token"]

    response = guarded.post(
        f"/customer/{TENANT}/password/reset", json={"email": ALICE["email"]}, headers=bearer(token)
    )

    assert response.status_code == 204


def test_mock_api_without_configured_control_token_is_open(client: ContractClient) -> None:
    """A loopback server started without a token: no header needed, and a stray one is ignored."""
    assert client.post("/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"}).status_code == 201
    assert client.get("/_mock/outbox", headers={HEADER: "anything"}).status_code == 200


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_serve_is_loopback_tells_reachable_addresses(host: str, loopback: bool) -> None:
    assert cli.is_loopback(host) is loopback


@pytest.mark.parametrize("host", ["::", "10.1.2.3", "myhost.example"])
def test_serve_non_loopback_without_control_token_exits_before_binding(
    host: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(cli.CONTROL_TOKEN_ENV, raising=False)

    assert cli.main(["serve", "--host", host, "--port", "9"]) == 2

    assert "refusing to listen" in capsys.readouterr().err


def test_serve_on_all_interfaces_without_control_token_refuses_to_start() -> None:
    server = ServerProcess(host="0.0.0.0", port=free_port())

    with pytest.raises(RuntimeError, match="exited with 2"):
        server.start(timeout=20)

    assert "refusing to listen on 0.0.0.0 without a control token" in server.output
    assert "--control-token" in server.output


def test_serve_with_control_token_requires_it_and_never_logs_it() -> None:
    with ServerProcess(["--control-token", CONTROL_TOKEN, "--log-level", "debug"]) as server:
        without = httpx.post(f"{server.base_url}/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"})
        wrong = httpx.get(f"{server.base_url}/_mock/outbox", headers={HEADER: "guess"})
        right = httpx.get(f"{server.base_url}/_mock/outbox", headers={HEADER: CONTROL_TOKEN})
        output = server.stop()

    assert_unauthorized(without)
    assert_unauthorized(wrong)
    assert right.status_code == 200
    assert "GET /_mock/outbox 401" in output  # the request log ran ...
    assert CONTROL_TOKEN not in output  # ... and never showed the token


def test_serve_control_token_from_environment_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cli.CONTROL_TOKEN_ENV, CONTROL_TOKEN)

    with ServerProcess() as server:
        without = httpx.get(f"{server.base_url}/_mock/clock")
        right = httpx.get(f"{server.base_url}/_mock/clock", headers={HEADER: CONTROL_TOKEN})

    assert_unauthorized(without)
    assert right.status_code == 200


def test_serve_generated_control_token_is_printed_once_and_required() -> None:
    with ServerProcess(["--control-token", "generate"]) as server:
        banner_line = server.wait_for_line("control token (generated)")
        generated = banner_line.split("control token (generated):", 1)[1].split()[0]
        without = httpx.get(f"{server.base_url}/_mock/clock")
        right = httpx.get(f"{server.base_url}/_mock/clock", headers={HEADER: generated})

    assert len(generated) >= 32
    assert_unauthorized(without)
    assert right.status_code == 200
