"""The ``credmock`` command as a user runs it: the banner, seeded runs, fake customers, bad fixtures,
``--version``, options from ``CREDMOCK_*`` variables, binding, signals."""

from __future__ import annotations

import importlib.metadata
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from credmock.tools.testing import FREE_PORTS_FROM, ServerProcess, free_port

SEEDED = ["--seed", "42", "--fake-customers", "3"]


def observe(server: ServerProcess) -> dict[str, Any]:
    """What a client sees of a fresh server: its customers and the first tokens it issues."""
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        customers = {
            tenant: http.get(f"/_mock/tenants/{tenant}/customers").json() for tenant in ("demo", "acme")
        }
        tokens = [
            http.post("/_mock/tokens", json={"tenant": "demo", "kind": "anonymous"}).json()["access_token"],
            http.post(
                "/_mock/tokens", json={"tenant": "demo", "kind": "customer", "email": "alice@example.com"}
            ).json()["access_token"],
        ]
    return {"customers": customers, "tokens": tokens}


@pytest.fixture(scope="module")
def seeded_runs() -> list[dict[str, Any]]:
    """Two runs of ``credmock serve --seed 42 --fake-customers 3``, one after the other."""
    runs = []
    for _ in range(2):
        server = ServerProcess(SEEDED).start()
        try:
            observed = observe(server)
        finally:
            observed["output"] = server.stop()
            observed["url"] = server.base_url
        runs.append(observed)
    return runs


def serve_and_fail(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "credmock.tools.cli", "serve", "--port", str(free_port()), *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_serve_banner_shows_url_tenants_customers_and_outbox(seeded_runs):
    output, url = seeded_runs[0]["output"], seeded_runs[0]["url"]
    assert f"on {url}" in output
    assert "tenant demo: 6 customers (alice@example.com, bob@example.com, carol@example.com" in output
    assert "tenant acme: 4 customers (" in output
    assert "dave@acme.example" in output
    assert f"outbox:      {url}/_mock/outbox" in output
    assert f"anonymous:   GET {url}/customerlogin/auth/anonymous/login?tenant=demo&client_id=any" in output


def test_serve_same_seed_gives_same_customers_and_tokens(seeded_runs):
    first, second = seeded_runs
    assert first["customers"] == second["customers"]
    assert first["tokens"] == second["tokens"]


def test_serve_fake_customers_adds_n_per_tenant(seeded_runs):
    customers = seeded_runs[0]["customers"]
    assert len(customers["demo"]) == 3 + 3
    assert len(customers["acme"]) == 1 + 3
    fake = customers["demo"][3:]
    assert all(c["firstName"] and c["lastName"] and c["id"] for c in fake)
    assert len({c["email"] for c in fake}) == 3
    other_tenant_fake = customers["acme"][1:]
    assert not {c["email"] for c in fake} & {c["email"] for c in other_tenant_fake}, (
        "each tenant gets its own people"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("tenants: [unclosed", "invalid YAML at line 1 column 19"),
        ("tenants:\n  demo:\n    customers:\n      - {email: a@example.com}\n", "'password' is required"),
        (
            "tenants:\n  demo:\n    customers:\n      - {email: not-an-email, password: secret-1}\n",
            "not a valid email address",
        ),
        (
            "tenants:\n  demo:\n    customers:\n"
            "      - {email: a@example.com, password: secret-1}\n"
            "      - {email: A@example.com, password: secret-2}\n",
            "Duplicate account",
        ),
        ("tenants:\n  Demo Shop:\n    customers: []\n", "not a valid tenant name"),
    ],
    ids=["bad-yaml", "no-password", "bad-email", "duplicate-email", "bad-tenant"],
)
def test_serve_bad_fixtures_file_fails_in_one_line(tmp_path: Path, content: str, reason: str):
    fixtures = tmp_path / "customers.yaml"
    fixtures.write_text(content, encoding="utf-8")
    result = serve_and_fail("--fixtures", str(fixtures))
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"credmock: {fixtures}")
    assert reason in line


def test_serve_missing_fixtures_file_fails_in_one_line(tmp_path: Path):
    result = serve_and_fail("--fixtures", str(tmp_path / "nope.yaml"))
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert "nope.yaml" in line


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--reset-link", "http://shop.example/reset?t={tokn}", "the password reset link (--reset-link)"),
        ("--email-change-link", "http://shop.example/{0}", "the email change link (--email-change-link)"),
        ("--control-token", "tökén", "the control token must be printable ASCII"),
        ("--signup-confirmation-link", "http://shop.example/{tkn}", "(--signup-confirmation-link)"),
    ],
    ids=["unknown-placeholder", "positional-placeholder", "non-ascii-control-token", "activation-link"],
)
def test_serve_bad_option_fails_in_one_line(option: str, value: str, reason: str):
    result = serve_and_fail(option, value)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert reason in line


# The command as a user runs it: the console script of this environment ---------------------------

CREDMOCK = Path(sys.executable).with_name("credmock")
BANNER = re.compile(r"^credmock serving the Emporix credentials contract on (http://\S+)$")
PROXY_BANNER = re.compile(r"^credmock proxy on (http://\S+) -> ")


def credmock_environment(**variables: str) -> dict[str, str]:
    """This process's environment without any CREDMOCK_* variable, plus ``variables``."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("CREDMOCK_")}
    return {**environment, "PYTHONUNBUFFERED": "1", **variables}


def run_credmock(*arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CREDMOCK), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env=credmock_environment(**variables),
    )


class Running:
    """A ``credmock`` command running in the background; ``url`` is read from its banner."""

    def __init__(self, arguments: list[str], banner: re.Pattern[str] = BANNER, **variables: str) -> None:
        self.process = subprocess.Popen(
            [str(CREDMOCK), *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=credmock_environment(**variables),
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        # Each pipe read by its own thread, and only there (communicate() would read them too).
        self._readers = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self.stdout: list[str] = []
        self.url = self.wait_for(banner).group(1)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self._stderr.extend(self.process.stderr)

    def _ended(self) -> tuple[int, str]:
        """The exit status and all of stderr, once the process has ended."""
        self.process.wait()
        for reader in self._readers:
            reader.join(timeout=10)
        return self.process.returncode, "".join(self._stderr)

    def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """The first line of stdout from here on that matches ``pattern``."""
        while True:
            try:
                line = self.lines.get(timeout=60)
            except queue.Empty:
                self.process.kill()
                pytest.fail(f"credmock printed no line matching {pattern.pattern!r} within 60 s")
            if line is None:
                status, stderr = self._ended()
                pytest.fail(f"credmock exited with {status} before {pattern.pattern!r}: {stderr}")
            self.stdout.append(line)
            if match := pattern.match(line):
                return match

    def stop(self, signal_number: int = signal.SIGTERM) -> tuple[int, str]:
        """Send ``signal_number``; the exit status and everything written to stderr."""
        self.process.send_signal(signal_number)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        return self._ended()

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *_: object) -> None:
        if self.process.poll() is None:
            self.stop()


def health(url: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{url}/_mock/health", headers=headers, timeout=10)


def test_version_prints_the_installed_version():
    result = run_credmock("--version")

    assert result.returncode == 0
    assert result.stdout.strip() == f"credmock {importlib.metadata.version('credmock')}"


def test_serve_short_port_option_listens_there():
    port = free_port()
    with Running(["serve", "-p", str(port)]) as server:
        assert server.url == f"http://127.0.0.1:{port}"
        assert health(server.url).json()["status"] == "ok"


def test_free_port_is_drawn_where_no_server_binding_port_0_lands():
    """A test hands the port it drew to a server that binds it a second later: drawn from the
    range the system hands out for port 0, a parallel test's server could take it meanwhile."""
    below = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    with socket.socket() as anywhere:
        anywhere.bind(("127.0.0.1", 0))
        assert anywhere.getsockname()[1] >= below  # what a server on port 0 gets

    drawn = {free_port() for _ in range(20)}

    assert all(FREE_PORTS_FROM <= port < below for port in drawn), drawn
    assert len(drawn) > 1


def test_serve_port_zero_prints_the_port_it_got():
    with Running(["serve", "--port", "0"]) as server:
        port = int(server.url.rsplit(":", 1)[1])
        assert port > 0
        assert health(server.url).status_code == 200
        outbox = server.wait_for(re.compile(r"^  outbox: +(\S+)")).group(1)
        assert outbox == f"{server.url}/_mock/outbox"


def test_serve_options_from_environment_variables():
    port = free_port()
    variables = {"CREDMOCK_PORT": str(port), "CREDMOCK_NO_FIXTURES": "yes", "CREDMOCK_SEED": "3"}
    with Running(["serve"], **variables) as server:
        assert server.url == f"http://127.0.0.1:{port}"
        assert health(server.url).json()["customers"] == 0


def test_serve_flag_wins_over_environment_variable():
    port = free_port()
    with Running(["serve", "-p", str(port)], CREDMOCK_PORT="not-a-port") as server:
        assert server.url == f"http://127.0.0.1:{port}"


def test_serve_control_token_from_environment_variable_guards_mock_api():
    with Running(["serve", "-p", "0"], CREDMOCK_CONTROL_TOKEN="ci-secret") as server:
        assert health(server.url).status_code == 401
        assert health(server.url, **{"X-Mock-Control-Token": "ci-secret"}).status_code == 200


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("CREDMOCK_PORT", "eighty", "must be a number from 0 to 65535 (0: a free one), not 'eighty'"),
        ("CREDMOCK_NO_FIXTURES", "maybe", "expected one of 1/0, true/false, yes/no, on/off"),
        ("CREDMOCK_ENGINE", "turbo", "expected one of async, flask"),
    ],
)
def test_serve_bad_environment_value_is_one_line_and_exit_2(variable: str, value: str, reason: str):
    result = run_credmock("serve", **{variable: value})

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"credmock serve: {variable}={value!r}: {reason}"]


def test_serve_help_names_the_variable_of_every_option():
    from credmock.tools.cli import build_parser

    serve_parser = build_parser({}).parse_args(["serve"])
    help_text = " ".join(run_credmock("serve", "--help").stdout.split())
    options = [name for name in vars(serve_parser) if name not in ("run", "command")]

    assert len(options) >= 15
    for name in options:
        assert f"[env: CREDMOCK_{name.upper()}]" in help_text, name


def test_serve_port_taken_is_one_line_exit_2_and_no_banner():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_credmock("serve", "--port", str(port))

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"credmock: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve_stops_gracefully_with_exit_0(signal_number: int):
    with Running(["serve", "-p", "0"]) as server:
        assert health(server.url).status_code == 200
        status, stderr = server.stop(signal_number)

    assert status == 0, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_proxy_stops_gracefully_with_exit_0(signal_number: int):
    upstream = f"http://127.0.0.1:{free_port()}"
    with Running(["proxy", "--upstream", upstream, "-p", "0"], banner=PROXY_BANNER) as proxy:
        assert httpx.get(f"{proxy.url}/_mock/violations", timeout=10).json() == []
        status, stderr = proxy.stop(signal_number)

    assert status == 0, stderr
    assert "Traceback" not in stderr


def test_open_control_api_serves_mock_api_beyond_loopback_with_a_warning():
    with Running(["serve", "--host", "0.0.0.0", "-p", "0", "--open-control-api"]) as server:
        port = server.url.rsplit(":", 1)[1]
        assert health(f"http://127.0.0.1:{port}").status_code == 200
        _, stderr = server.stop()

    [warning] = stderr.strip().splitlines()
    assert warning.startswith("credmock: warning: --open-control-api:")
    assert "without a control token" in warning


def test_open_control_api_with_a_control_token_is_refused():
    result = run_credmock("serve", "--open-control-api", CREDMOCK_CONTROL_TOKEN="ci-secret")

    assert result.returncode == 2
    assert "exclude each other" in result.stderr


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"CREDMOCK_VALIDATE_RESPONSES": "true"}, {"validate_responses": True}),
        ({"CREDMOCK_VALIDATE_RESPONSES": "0"}, {"validate_responses": False}),
        ({"CREDMOCK_VALIDATE_RESPONSES": ""}, {"validate_responses": False}),
        ({"CREDMOCK_FIXTURES": "shop.yaml"}, {"fixtures": Path("shop.yaml")}),
        ({"CREDMOCK_MAX_BODY_SIZE": "1024"}, {"max_body_size": 1024}),
        (
            {"CREDMOCK_CORS_ORIGIN": "http://localhost:3000, https://shop.example"},
            {"cors_origin": ["http://localhost:3000", "https://shop.example"]},
        ),
    ],
    ids=["switch-on", "switch-off", "empty-is-unset", "path", "int", "repeatable-comma-list"],
)
def test_serve_environment_values_are_read_as_the_flag_reads_them(variables, expected):
    from credmock.tools.cli import build_parser

    arguments = vars(build_parser(variables).parse_args(["serve"]))

    assert {name: arguments[name] for name in expected} == expected
