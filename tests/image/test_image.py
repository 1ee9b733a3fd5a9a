"""The container image as a CI service runs it: `podman run` with a published port and a control
token, a password reset finished from outside with the outbox read through that port, the
HEALTHCHECK, a non-root server, a clean stop.

`make test-image` builds the image first (scripts/image/); these tests run what it built,
``$CREDMOCK_IMAGE`` (default localhost/credmock:latest).
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from credmock.settings import CONTROL_TOKEN_ENV, CONTROL_TOKEN_HEADER
from credmock.tools.contract import ContractChecker
from credmock.tools.testing import free_port

IMAGE = os.environ.get("CREDMOCK_IMAGE", "localhost/credmock:latest")
PODMAN = shutil.which("podman")
START_TIMEOUT = 120.0  # seconds; the machine may be busy
ALICE = {"email": "alice@example.com", "password": "alice-pass-1"}

if PODMAN is None:
    pytest.fail("podman is missing: `make test-image` installs it (scripts/image/install-tools.sh)")


def podman(*arguments: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [PODMAN, *arguments], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(arguments)} -> {result.returncode}\n{result.stderr}")
    return result


def run_options() -> list[str]:
    """What `podman run` needs on these hosts: runc (crun refuses hybrid cgroups) and explicit
    limits within the host's own (podman's defaults exceed what this host lets a container set)."""
    open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if open_files == resource.RLIM_INFINITY:
        open_files = 65536
    open_files = min(open_files, 65536)
    return [
        "--runtime",
        "runc",
        "--ulimit",
        f"nofile={open_files}:{open_files}",
        "--ulimit",
        "nproc=4096:4096",
    ]


class Container:
    """One credmock container, its port (8080 unless configured) published on a free loopback port."""

    def __init__(self, *, environment: dict[str, str], container_port: int = 8080) -> None:
        self.name = f"credmock-test-{secrets.token_hex(4)}"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.environment = environment
        self.container_port = container_port

    def start(self) -> Container:
        variables = [
            option for name, value in self.environment.items() for option in ("-e", f"{name}={value}")
        ]
        podman(
            "run", "--detach", "--name", self.name, *run_options(),
            "--publish", f"127.0.0.1:{self.port}:{self.container_port}", *variables, IMAGE,
        )  # fmt: skip
        return self

    def state(self) -> dict[str, Any]:
        return json.loads(podman("inspect", "--format", "{{json .State}}", self.name).stdout)

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return result.stdout + result.stderr

    def wait_until_serving(self, headers: dict[str, str]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.state()["Running"]:
                raise AssertionError(f"the container stopped before serving:\n{self.logs()}")
            try:
                if httpx.get(f"{self.base_url}/_mock/health", headers=headers, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"no healthy answer on {self.base_url} within {START_TIMEOUT} s:\n{self.logs()}")

    def remove(self) -> None:
        podman("rm", "--force", "--time", "5", self.name, check=False)


@pytest.fixture(scope="module", autouse=True)
def image_exists() -> None:
    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.fail(f"no image {IMAGE}: build it with `make image` (or run `make test-image`)")


@pytest.fixture(scope="module")
def control_token() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def container(control_token: str) -> Iterator[Container]:
    running = Container(environment={CONTROL_TOKEN_ENV: control_token})
    try:
        running.start().wait_until_serving({CONTROL_TOKEN_HEADER: control_token})
        yield running
    finally:
        running.remove()


def contract_client(base_url: str, checkers: list[ContractChecker]) -> httpx.Client:
    """A client of base_url; every answer is checked against the contract describing it."""

    def check(response: httpx.Response) -> None:
        response.read()
        request = response.request
        for checker in checkers:
            if checker.describes(request.method, str(request.url)):
                violations = checker.check_httpx(response)
                assert not violations, (
                    f"{request.method} {request.url} -> {response.status_code}: {violations}"
                )

    return httpx.Client(base_url=base_url, timeout=10, event_hooks={"response": [check]})


@pytest.fixture
def http(container: Container, checkers: list[ContractChecker]) -> Iterator[httpx.Client]:
    with contract_client(container.base_url, checkers) as client:
        yield client


def test_the_control_token_guards_the_mock_api_through_the_published_port(
    http: httpx.Client, control_token: str
) -> None:
    assert http.get("/_mock/health").status_code == 401
    assert http.get("/_mock/outbox", headers={CONTROL_TOKEN_HEADER: "wrong"}).status_code == 401
    health = http.get("/_mock/health", headers={CONTROL_TOKEN_HEADER: control_token})
    assert health.status_code == 200
    assert health.json()["status"] == "ok"


def test_a_password_reset_completes_with_the_outbox_read_from_outside(
    http: httpx.Client, control_token: str
) -> None:
    control = {CONTROL_TOKEN_HEADER: control_token}
    anonymous = http.get("/customerlogin/auth/anonymous/login", params={"tenant": "demo", "client_id": "ci"})
    assert anonymous.status_code == 200
    storefront = {"Authorization": f"Bearer {anonymous.json()['access_token']}"}

    requested = http.post("/customer/demo/password/reset", json={"email": ALICE["email"]}, headers=storefront)
    assert requested.status_code == 204
    email = http.get("/_mock/outbox/latest", params={"to": ALICE["email"]}, headers=control)
    assert email.status_code == 200
    assert email.json()["kind"] == "password-reset"
    token = email.json()["token"]

    reset = http.post(
        "/customer/demo/password/reset/update",
        json={"token": token, "password": "fresh-from-ci-1"},
        headers=storefront,
    )
    assert reset.status_code == 204

    def login(password: str) -> httpx.Response:
        return http.post(
            "/customer/demo/login", json={"email": ALICE["email"], "password": password}, headers=storefront
        )

    assert login("fresh-from-ci-1").status_code == 200
    assert login(ALICE["password"]).status_code == 401


def test_the_server_runs_as_a_user_other_than_root(container: Container) -> None:
    status = podman("exec", container.name, "cat", "/proc/1/status").stdout
    real, effective, *_ = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert real != "0" and effective != "0", status
    assert "credmock" in podman("exec", container.name, "cat", "/proc/1/cmdline").stdout


def test_the_healthcheck_reports_healthy_with_a_control_token_set(container: Container) -> None:
    check = podman("healthcheck", "run", container.name, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    health = container.state().get("Health") or container.state()["Healthcheck"]
    assert health["Status"] == "healthy", health


def test_sigterm_stops_the_server_cleanly(control_token: str) -> None:
    container = Container(environment={CONTROL_TOKEN_ENV: control_token})
    try:
        container.start().wait_until_serving({CONTROL_TOKEN_HEADER: control_token})
        # podman stop sends SIGTERM, and SIGKILL only once the grace period is over.
        podman("stop", "--time", "60", container.name, timeout=90)
        state = container.state()
        assert state["Status"] == "exited"
        assert state["ExitCode"] == 0, container.logs()
        assert "Traceback" not in container.logs()
    finally:
        container.remove()


def test_a_ci_service_configured_by_environment_alone_serves_an_open_control_api(
    checkers: list[ContractChecker],
) -> None:
    """As GitHub Actions runs a service container: no command line, only variables."""
    container = Container(
        environment={"CREDMOCK_OPEN_CONTROL_API": "1", "CREDMOCK_PORT": "9000", "CREDMOCK_SEED": "7"},
        container_port=9000,
    )
    try:
        container.start().wait_until_serving({})
        with contract_client(container.base_url, checkers) as http:
            assert http.post("/_mock/tokens", json={"tenant": "demo", "kind": "anonymous"}).status_code == 201
            assert http.get("/_mock/outbox").json() == []
        assert "--open-control-api" in container.logs()  # the warning, printed at start
        check = podman("healthcheck", "run", container.name, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        container.remove()


def test_without_a_control_token_the_container_refuses_to_start_and_says_why() -> None:
    container = Container(environment={})
    try:
        container.start()
        podman("wait", container.name, timeout=START_TIMEOUT)
        assert container.state()["ExitCode"] == 2
        assert CONTROL_TOKEN_ENV in container.logs()
    finally:
        container.remove()
