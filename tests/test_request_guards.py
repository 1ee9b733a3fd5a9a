"""What the server refuses before any operation runs, and how it starts and stops: the bound on
request heads (431), /_mock writes from other sites and foreign Host names (403), Expect:
100-continue, the stop's grace period, option checks at start, and fake customers' domains.
Each test is named after the hostile input or mistake it covers, against a real server where
the behaviour lives in the server (raw sockets, real signals, the real command)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from credmock.app import create_app
from credmock.core.email_address import normalise_email
from credmock.core.seeding import RESERVED_EMAIL_DOMAINS, fake_customers
from credmock.http.serving import HEAD_LIMIT_BYTES
from credmock.settings import Settings
from credmock.tools import cli
from credmock.tools.testing import LiveServer, ServerProcess, free_port
from tests.conftest import TENANT, error_body

ENGINES = ["async", "flask"]
EVIL = "https://evil.example"


@pytest.fixture(params=ENGINES)
def live(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with LiveServer(Settings(engine=request.param)) as server:
        yield server


def exchange(port: int, data: bytes, *, timeout: float = 10.0) -> bytes:
    """Send ``data`` on a new connection and read until the server closes it or the first
    answer is complete; a connection the server cuts while we still send is not an error."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        received = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                head, _, body = received.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.lower().split(b"\r\n")
                        if line.startswith(b"content-length:")
                    ),
                    None,
                )
                if length is not None and len(body) >= length:
                    break
        except (ConnectionResetError, TimeoutError):
            pass
    return received


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def json_body(answer: bytes) -> dict:
    return json.loads(answer.partition(b"\r\n\r\n")[2])


def head_with_header(size: int) -> bytes:
    return (
        b"GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: "
        + b"a" * size
        + b"\r\nConnection: close\r\n\r\n"
    )


# A request head beyond the bound --------------------------------------------------------------


def test_request_header_of_100_kib_answers_431_and_the_server_still_serves(live: LiveServer) -> None:
    answer = exchange(live.port, head_with_header(100 * 1024))

    assert status_of(answer) == 431
    body = json_body(answer)
    assert body["status"] == 431 and body["type"] == "request_header_fields_too_large"
    assert status_of(exchange(live.port, head_with_header(HEAD_LIMIT_BYTES - 1024))) == 200
    assert httpx.get(f"{live.base_url}/_mock/health", timeout=10).status_code == 200


def test_request_header_sent_in_many_small_reads_is_cut_at_the_bound(live: LiveServer) -> None:
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(b"GET /_mock/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ")
        sent = 0
        try:
            while sent < 4 * 1024 * 1024:  # the server answers long before this much is sent
                sock.sendall(b"a" * 4096)
                sent += 4096
                time.sleep(0.0005)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass

    assert sent < 4 * 1024 * 1024
    if answer:  # the 431 may be lost to the reset of the bytes still in flight; never a 200
        assert status_of(answer) == 431
    assert httpx.get(f"{live.base_url}/_mock/health", timeout=10).status_code == 200


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the RSS from /proc")
def test_request_headers_of_32_mib_do_not_grow_the_server_for_good() -> None:
    with ServerProcess(["--quiet"]) as server:
        assert server.process is not None
        before = rss_kib(server.process.pid)
        threads = [
            threading.Thread(target=exchange, args=(server.port, head_with_header(32 * 1024 * 1024)))
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        time.sleep(0.5)
        after = rss_kib(server.process.pid)
        assert httpx.get(f"{server.base_url}/_mock/health", timeout=10).status_code == 200

    assert after - before < 48 * 1024, f"RSS grew from {before} KiB to {after} KiB"


# A /_mock write from another site, a Host that is not this machine's -------------------------


def test_mock_write_with_origin_of_another_site_is_refused_and_not_done(client) -> None:
    fault = client.post("/_mock/faults", json={"operation": "POST-customer-reset-password", "status": 503})
    assert fault.status_code == 201

    refused = client.post("/_mock/reset", headers={"Origin": EVIL})

    body = error_body(refused, 403)
    assert body["type"] == "forbidden"
    assert [entry["id"] for entry in client.get("/_mock/faults").json()] == [fault.json()["id"]]
    anonymous = {"tenant": TENANT, "kind": "anonymous"}
    sandboxed = client.post("/_mock/tokens", json=anonymous, headers={"Origin": "null"})
    assert sandboxed.status_code == 403


def test_mock_write_marked_cross_site_by_the_browser_is_refused(client) -> None:
    for fetch_site in ("cross-site", "same-site"):
        response = client.delete("/_mock/outbox", headers={"Sec-Fetch-Site": fetch_site})
        assert error_body(response, 403)["type"] == "forbidden"

    assert client.delete("/_mock/outbox", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 204
    assert client.delete("/_mock/outbox", headers={"Sec-Fetch-Site": "none"}).status_code == 204


@pytest.mark.parametrize("origin", ["http://testserver", "http://localhost:3000", "http://127.0.0.1:5173"])
def test_mock_write_from_the_mock_itself_or_a_loopback_page_is_done(client, origin: str) -> None:
    response = client.post("/_mock/reset", headers={"Origin": origin, "Sec-Fetch-Site": "cross-site"})

    assert response.status_code == 204


def test_mock_write_from_a_listed_cors_origin_is_done_others_refused(client_with) -> None:
    client = client_with(cors_origins=("https://shop.test",))

    assert client.post("/_mock/reset", headers={"Origin": "https://shop.test"}).status_code == 204
    assert client.post("/_mock/reset", headers={"Origin": "http://localhost:3000"}).status_code == 403


def test_mock_read_from_another_site_is_answered_for_cors_to_hide(client) -> None:
    response = client.get("/_mock/outbox", headers={"Origin": EVIL})

    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_contract_write_from_another_site_is_not_refused(client) -> None:
    response = client.post(
        f"/customer/{TENANT}/password/reset",
        json={"email": "alice@example.com"},
        headers={"Origin": EVIL, "Authorization": f"Bearer {client.anonymous_token()}"},
    )

    assert response.status_code == 204


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.nip.io", "[2001:db8::1]"])
def test_host_that_is_not_a_loopback_name_is_refused_on_loopback(live: LiveServer, host: str) -> None:
    response = httpx.get(f"{live.base_url}/_mock/health", headers={"Host": host}, timeout=10)

    assert response.status_code == 403
    assert response.json()["type"] == "forbidden"
    assert "Host" in live.app.inspection.journal.find(limit=1)[0].reason


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST:8080", "127.0.0.1", "127.0.0.2:80", "[::1]:8080", "app.localhost"]
)
def test_loopback_host_names_are_served(live: LiveServer, host: str) -> None:
    response = httpx.get(f"{live.base_url}/_mock/health", headers={"Host": host}, timeout=10)

    assert response.status_code == 200


def test_allowed_host_option_serves_that_name_from_flag_and_environment() -> None:
    parser = cli.build_parser({"CREDMOCK_ALLOWED_HOST": "my-laptop.local, Dev.Test"})
    from_environment = cli.settings_from_arguments(parser.parse_args(["serve"]))
    from_flags = cli.settings_from_arguments(
        cli.build_parser({}).parse_args(["serve", "--allowed-host", "a.test", "--allowed-host", "b.test"])
    )
    assert from_environment.allowed_hosts == ("my-laptop.local", "dev.test")
    assert from_flags.allowed_hosts == ("a.test", "b.test")

    with LiveServer(from_environment) as server:
        allowed = httpx.get(f"{server.base_url}/_mock/health", headers={"Host": "my-laptop.local:8080"})
        other = httpx.get(f"{server.base_url}/_mock/health", headers={"Host": "other.local"})
    assert allowed.status_code == 200
    assert other.status_code == 403


# Expect: 100-continue ------------------------------------------------------------------------


def expecting_post(token: str, body: bytes) -> bytes:
    return (
        f"POST /customer/{TENANT}/password/reset HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()


def test_expect_100_continue_with_a_bad_token_is_answered_401_without_asking_for_the_body(
    live: LiveServer,
) -> None:
    assert live.app.settings.journal_size > 0  # the journal, which records bodies, is on
    request = expecting_post("no-such-token", b'{"email": "alice@example.com"}')
    answer = exchange(live.port, request, timeout=3)

    assert answer.startswith(b"HTTP/1.1 401 "), answer[:80]
    assert b"100 Continue" not in answer


def test_expect_100_continue_with_a_good_token_gets_the_body_and_journals_it(live: LiveServer) -> None:
    anonymous = {"tenant": TENANT, "kind": "anonymous"}
    token = httpx.post(f"{live.base_url}/_mock/tokens", json=anonymous).json()["access_token"]
    body = b'{"email": "alice@example.com"}'
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(expecting_post(token, body))
        interim = sock.recv(65536)
        sock.sendall(body)
        final = sock.recv(65536)

    assert interim.startswith(b"HTTP/1.1 100 Continue")
    assert final.startswith(b"HTTP/1.1 204 "), final[:80]
    journal = httpx.get(f"{live.base_url}/_mock/requests", params={"path": "/password/reset"}).json()
    assert journal[0]["body"] == {"email": "alice@example.com"}


# Stopping a server that holds a delayed request ------------------------------------------------


def delayed_request(base_url: str, outcome: dict[str, object]) -> threading.Thread:
    httpx.post(f"{base_url}/_mock/faults", json={"operation": "*", "delayMs": 600000}).raise_for_status()

    def call() -> None:
        try:
            response = httpx.get(
                f"{base_url}/customerlogin/auth/anonymous/login",
                params={"tenant": TENANT, "client_id": "x"},
                timeout=60,
            )
            outcome["status"] = response.status_code
            outcome["body"] = response.json()
        except httpx.HTTPError as error:
            outcome["error"] = repr(error)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    time.sleep(1.0)  # the request is in, held by its delay
    return thread


def test_sigterm_stops_a_server_holding_a_delayed_request_within_the_grace_period() -> None:
    server = ServerProcess(["--shutdown-grace", "1"]).start()
    outcome: dict[str, object] = {}
    try:
        client = delayed_request(server.base_url, outcome)
        assert server.process is not None
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        exit_status = server.process.wait(timeout=20)
        took = time.monotonic() - started
        client.join(timeout=10)
    finally:
        output = server.stop()

    assert exit_status == 0
    assert took < 10, f"stopped after {took:.1f} s"
    assert "Traceback" not in output and "CancelledError" not in output, output
    assert outcome.get("status") == 503, outcome
    assert outcome["body"]["type"] == "service_unavailable"  # type: ignore[index]
    [logged] = [line for line in output.splitlines() if " GET /customerlogin/auth/anonymous/login " in line]
    assert " 503 " in logged and "cancelled: the server is stopping" in logged


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT])
def test_second_stop_signal_ends_the_grace_period_at_once(second: signal.Signals) -> None:
    server = ServerProcess(["--shutdown-grace", "600"]).start()
    outcome: dict[str, object] = {}
    try:
        delayed_request(server.base_url, outcome)
        assert server.process is not None
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert server.process.poll() is None  # the first signal waits for the delayed request
        server.process.send_signal(second)
        exit_status = server.process.wait(timeout=20)
        took = time.monotonic() - started
    finally:
        output = server.stop()

    assert exit_status == 0
    assert took < 10, f"stopped after {took:.1f} s"
    assert "Traceback" not in output and "CancelledError" not in output, output


# Options checked at start --------------------------------------------------------------------


def run_command(*arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("CREDMOCK_")}
    return subprocess.run(
        [sys.executable, "-m", "credmock.tools.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env={**environment, **variables},
    )


def one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    return line


@pytest.mark.parametrize("command", ["serve", "proxy"])
@pytest.mark.parametrize("port", ["70000", "65536", "-1"])
def test_port_out_of_range_is_refused_at_start(command: str, port: str) -> None:
    extra = ["--upstream", "http://127.0.0.1:9"] if command == "proxy" else []

    line = one_line_refusal(run_command(command, *extra, "--port", port))

    assert "--port" in line and "from 0 to 65535" in line


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (["proxy", "--upstream", "http://127.0.0.1:9", "--max-violations", "-3"], "--max-violations"),
        (["proxy", "--upstream", "http://127.0.0.1:9", "--timeout", "-1"], "--timeout"),
        (["proxy", "--upstream", "http://127.0.0.1:9", "--timeout", "nan"], "--timeout"),
        (["verify", "--base-url", "http://127.0.0.1:9", "--timeout", "0"], "--timeout"),
        (["verify", "--base-url", "http://127.0.0.1:9", "--mail-wait", "inf"], "--mail-wait"),
        (["coverage", "--base-url", "http://127.0.0.1:9", "--timeout", "1e9"], "--timeout"),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, list) else value,
)
def test_the_tools_refuse_a_bad_number_in_one_line(arguments: list[str], reason: str) -> None:
    """A negative, zero or endless wait, a negative count: one line naming the option and the
    value, exit status 2, before anything is sent or served."""
    line = one_line_refusal(run_command(*arguments))

    assert f"argument {reason}:" in line
    assert arguments[-1] in line


@pytest.mark.parametrize(
    ("arguments", "variables"),
    [
        (["--smtp-url", "smtp://user:SECRET@mail.test:99999"], {}),
        ([], {"CREDMOCK_SMTP_URL": "smtp://user:SECRET@mail.test:99999"}),
        (["--smtp-url", "http://user:SECRET@mail.test:25"], {}),
    ],
    ids=["flag", "environment", "wrong-scheme"],
)
def test_smtp_url_with_a_bad_port_is_refused_without_showing_its_password(
    arguments: list[str], variables: dict[str, str]
) -> None:
    line = one_line_refusal(run_command("serve", "--port", str(free_port()), *arguments, **variables))

    assert "SECRET" not in line
    assert "SMTP" in line


def test_redis_state_with_a_database_that_is_not_a_number_is_refused() -> None:
    line = one_line_refusal(run_command("serve", "--port", "0", "--state", "redis://127.0.0.1:1/abc"))

    assert "--state" in line and "must be a number" in line


def test_mail_from_that_is_not_an_address_is_refused_without_smtp_url() -> None:
    line = one_line_refusal(run_command("serve", "--port", "0", "--mail-from", "notanaddress"))

    assert "--mail-from" in line


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--workers", "0"),
        ("--journal-size", "-5"),
        ("--outbox-capacity", "0"),
        ("--password-min-length", "0"),
        ("--reset-token-lifetime", "-1"),
        ("--fake-customers", "-2"),
        ("--max-body-size", "0"),
        ("--shutdown-grace", "-1"),
        ("--allowed-host", "http://evil.example/"),
    ],
)
def test_numbers_and_names_out_of_their_range_are_refused_at_start(option: str, value: str) -> None:
    line = one_line_refusal(run_command("serve", "--port", "0", f"{option}={value}"))

    assert option in line


# Fake customers -----------------------------------------------------------------------------


@pytest.mark.parametrize("locale", [None, "en_US", "de_DE", "fr_FR", "ja_JP", "ru_RU", "el_GR"])
def test_fake_customers_have_addresses_on_reserved_domains_whatever_the_locale(locale: str | None) -> None:
    customers = fake_customers(TENANT, 40, seed=3, locale=locale)

    assert len({customer.email for customer in customers}) == 40
    for customer in customers:
        assert customer.email.rpartition("@")[2] in RESERVED_EMAIL_DOMAINS, customer.email
        assert normalise_email(customer.email, "email") == customer.email


def test_fake_customers_of_the_command_never_use_real_mail_domains() -> None:
    app = create_app(Settings(seed=9, fake_customers=20))

    tenants = app.domain.tenants()
    emails = [customer.email for tenant in tenants for customer in app.domain.list_customers(tenant)]

    fake = [email for email in emails if email.rpartition("@")[0].split(".")[-1].isdigit()]
    assert len(fake) == 20 * len(tenants)
    assert all(email.endswith(RESERVED_EMAIL_DOMAINS) for email in fake), fake


# What the head bound and the stop take from uvicorn ----------------------------------------


@pytest.mark.parametrize(
    "member",
    [
        "data_received",
        "on_message_begin",
        "on_url",
        "on_header",
        "on_headers_complete",
        "on_message_complete",
        "send_400_response",
    ],
)
def test_uvicorn_httptools_protocol_still_has_what_the_head_bound_overrides(member: str) -> None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    assert callable(getattr(HttpToolsProtocol, member, None)), f"uvicorn's HttpToolsProtocol lost {member}"


def test_uvicorn_server_still_has_what_the_stop_uses() -> None:
    import uvicorn

    from credmock.http.serving import BoundedHeadProtocol, protocol_options

    config = uvicorn.Config(create_app(Settings()), **protocol_options(2.5))
    server = uvicorn.Server(config)

    assert callable(getattr(uvicorn.Server, "handle_exit", None))
    assert isinstance(server.server_state.tasks, set)
    assert config.timeout_graceful_shutdown == 2.5
    assert config.http is BoundedHeadProtocol
    assert config.h11_max_incomplete_event_size == HEAD_LIMIT_BYTES
