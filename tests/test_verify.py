"""`credmock verify` both ways: credmock itself passes every probe, a broken server is caught."""

from __future__ import annotations

import re
import shlex
import socket
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest

from credmock.settings import Settings
from credmock.tools.cli import main
from credmock.tools.testing import LiveServer, free_port
from credmock.tools.verify import VerifyOptions
from credmock.tools.verify.runner import Verifier
from tests import broken_server
from tests.broken_server import Answer, BrokenServer
from tests.conftest import ALICE, TENANT

READ_ONLY_PROBES = 20  # 5 operations x (no token, malformed token, invalid JSON, one specific probe)
FLOW_STEPS = 12


@pytest.fixture(scope="module")
def credmock() -> Iterator[LiveServer]:
    with LiveServer(Settings(seed=7)) as server:
        yield server


@pytest.fixture
def credmock_url(credmock: LiveServer) -> Iterator[str]:
    yield credmock.base_url
    httpx.post(f"{credmock.base_url}/_mock/reset")  # the write flows change Alice's account


@pytest.fixture(scope="module")
def broken() -> Iterator[BrokenServer]:
    with BrokenServer() as server:
        yield server


@pytest.fixture
def broken_url(broken: BrokenServer) -> Iterator[str]:
    yield broken.base_url
    broken.answers.clear()


def mock_token(base_url: str, **request: str) -> str:
    response = httpx.post(f"{base_url}/_mock/tokens", json={"tenant": TENANT, **request})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


def credmock_arguments(base_url: str) -> list[str]:
    return [
        "--anonymous-token",
        mock_token(base_url, kind="anonymous"),
        "--customer-token",
        mock_token(base_url, kind="customer", email=ALICE["email"]),
        "--email",
        ALICE["email"],
        "--password",
        ALICE["password"],
    ]


BROKEN_SERVER_LOGIN = [
    "--client-id",
    broken_server.CLIENT_ID,
    "--email",
    broken_server.EMAIL,
    "--password",
    broken_server.PASSWORD,
]


def run_verify(capsys: pytest.CaptureFixture[str], base_url: str, *arguments: str) -> tuple[int, list[str]]:
    """Exit status and the table's rows (without the header and the summary)."""
    status = main(["verify", "--base-url", base_url, "--tenant", TENANT, *arguments])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["OPERATION", "PROBE", "EXPECTED", "GOT", "VERDICT"]
    return status, lines[1:-1]


def row(rows: list[str], operation: str, probe: str) -> str:
    matches = [line for line in rows if re.split(r"\s{2,}", line)[:2] == [operation, probe]]
    assert len(matches) == 1, (operation, probe, rows)
    return matches[0]


def test_verify_credmock_passes_every_read_only_probe(capsys, credmock_url):
    status, rows = run_verify(capsys, credmock_url, *credmock_arguments(credmock_url))
    assert status == 0
    assert len(rows) == READ_ONLY_PROBES
    assert all("  PASS" in line for line in rows), rows


def test_verify_credmock_passes_every_write_flow_and_restores_the_account(capsys, credmock_url, tmp_path):
    report = tmp_path / "verify.xml"
    # Tokens obtained as a storefront does: anonymous login, then customer login.
    login = ["--client-id", "storefront", "--email", ALICE["email"], "--password", ALICE["password"]]
    status, rows = run_verify(capsys, credmock_url, *login, "--allow-writes", "--junit", str(report))
    assert status == 0, "\n".join(rows)
    assert len(rows) == READ_ONLY_PROBES + FLOW_STEPS
    assert all("  PASS" in line for line in rows), rows
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("32", "0", "0")
    # Alice logs in with her own email and password again.
    token = {"tenant": TENANT, "kind": "customer", "email": ALICE["email"], "password": ALICE["password"]}
    assert httpx.post(f"{credmock_url}/_mock/tokens", json=token).status_code == 201


def test_verify_guarded_credmock_flows_read_the_outbox_with_the_control_token(capsys):
    with LiveServer(Settings(seed=7, control_token="guard-token-1")) as guarded:
        login = ["--client-id", "storefront", "--email", ALICE["email"], "--password", ALICE["password"]]
        status, rows = run_verify(capsys, guarded.base_url, *login, "--allow-writes")
        assert status == 0, "\n".join(rows)
        assert len(rows) == READ_ONLY_PROBES + FLOW_STEPS
        emailed_steps = [
            line for line in rows if "email change and back" in line or "password reset:" in line
        ]
        assert len(emailed_steps) == 10
        assert all("--control-token" in line and "  SKIP" in line for line in emailed_steps), emailed_steps

        arguments = [*login, "--allow-writes", "--control-token", "guard-token-1"]
        status, rows = run_verify(capsys, guarded.base_url, *arguments)
        assert status == 0, "\n".join(rows)
        assert all("  PASS" in line for line in rows), rows


def test_verify_token_command_reads_the_emailed_tokens(capsys, credmock_url, tmp_path):
    script = tmp_path / "read_emailed_token.py"
    script.write_text(
        "import sys, httpx\n"
        f"outbox = '{credmock_url}/_mock/outbox/latest'\n"
        "latest = httpx.get(outbox, params={'to': sys.argv[1], 'kind': sys.argv[2]})\n"
        "print(latest.json()['token'])\n"
    )
    command = f'{shlex.quote(sys.executable)} {shlex.quote(str(script))} "$1" "$2"'
    status, rows = run_verify(
        capsys, credmock_url, *credmock_arguments(credmock_url), "--allow-writes", "--token-command", command
    )
    assert status == 0, "\n".join(rows)
    assert len(rows) == READ_ONLY_PROBES + FLOW_STEPS
    assert all("  PASS" in line for line in rows), rows


def test_verify_without_tokens_skips_the_probes_that_need_one(capsys, credmock_url):
    status, rows = run_verify(capsys, credmock_url)
    assert status == 0
    skipped = [line for line in rows if "  SKIP" in line]
    assert len(skipped) == 10
    assert "give --anonymous-token or --client-id" in row(rows, "reset-password", "bogus token")
    assert "give --customer-token, or --email and --password" in row(
        rows, "change-account-password", "wrong current password"
    )
    assert all("  PASS" in line for line in rows if line not in skipped)


def test_verify_honest_broken_server_passes_with_tokens_obtained_by_login(capsys, broken_url):
    status, rows = run_verify(capsys, broken_url, *BROKEN_SERVER_LOGIN)
    assert status == 0, "\n".join(rows)
    assert len(rows) == READ_ONLY_PROBES
    assert all("  PASS" in line for line in rows), rows


@pytest.mark.parametrize(
    ("path", "answer", "operation", "probe", "reason"),
    [
        (
            "/password/reset",
            Answer(200, {"sent": True}),
            "request-reset-password",
            "unknown email",
            "contract: status 200 is not declared for this operation (declared: 204, 400, 401, 403)",
        ),
        (
            "/password/reset/update",
            Answer(500, {"status": 500, "type": "internal_error", "message": "boom"}),
            "reset-password",
            "bogus token",
            "contract: status 500 is not declared for this operation",
        ),
        (
            "/me/accounts/internal/email/change/confirm",
            Answer(400, {"status": "400", "type": "invalid_token", "message": "Bad token."}),
            "confirm-customer-login-email",
            "bogus token",
            "contract: body does not match the schema: status: '400' is not of type 'integer'",
        ),
        (
            "/password/change",
            Answer(400, "<html><body>Bad Request</body></html>", content_type="text/html"),
            "change-account-password",
            "wrong current password",
            "contract: content type 'text/html; charset=utf-8' is not declared (declared: application/json)",
        ),
        (
            "/password/change",
            Answer(401, {"fault": "Invalid access token"}, when="unauthorized"),
            "change-account-password",
            "no token",
            "contract: body does not match the schema: fault: 'Invalid access token' is not of type 'object'",
        ),
        (
            "/me/accounts/internal/email/change",
            Answer(400, {"status": 400}),
            "change-customer-login-email",
            "wrong password",
            "expected an ErrorMessage with a message, got '{\"status\": 400}'",
        ),
    ],
    ids=[
        "undeclared-200",
        "status-500",
        "wrong-field-type",
        "html-error",
        "fault-string",
        "no-message",
    ],
)
def test_verify_broken_server_violation_is_caught_with_its_reason(
    capsys, broken, broken_url, tmp_path, path, answer, operation, probe, reason
):
    broken.answers[path] = answer
    report = tmp_path / "verify.xml"
    status, rows = run_verify(capsys, broken_url, *BROKEN_SERVER_LOGIN, "--junit", str(report))
    assert status == 1
    caught = row(rows, operation, probe)
    assert "  FAIL  " in caught
    assert reason in caught
    # The report names the probe and the reason as well.
    cases = [
        case
        for case in ET.parse(report).getroot().iter("testcase")
        if case.get("classname") == f"POST-customer-{operation}"
        and case.get("name", "").startswith(f"{probe} -> ")
    ]
    assert len(cases) == 1
    failure = cases[0].find("failure")
    assert failure is not None and reason in failure.get("message", "")
    # Probes of the other operations still pass: the reason points at the one broken answer.
    assert all("  PASS" in line for line in rows if line.split()[0] != operation)


def test_verify_against_a_server_that_is_not_credmock_skips_the_flows(capsys, broken_url):
    status, rows = run_verify(capsys, broken_url, *BROKEN_SERVER_LOGIN, "--allow-writes")
    flow_rows = rows[READ_ONLY_PROBES:]
    assert len(flow_rows) == FLOW_STEPS
    assert all("SKIP  the target is not a credmock" in line for line in flow_rows[2:])
    assert all("give --token-command" in line for line in flow_rows[2:])
    # Changing the password needs no emailed token: that flow runs, the broken server fails it.
    assert status == 1
    assert "FAIL  expected 204, got 400" in row(
        rows, "change-account-password", "change password and back: change"
    )
    assert "SKIP  an earlier step of this flow failed" in row(
        rows, "change-account-password", "change password and back: change back"
    )


def test_verify_against_a_server_that_is_down_prints_one_line_and_exits_2(capsys, tmp_path):
    report = tmp_path / "r.xml"
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    status = main(["verify", "--base-url", url, "--tenant", TENANT, "--junit", str(report)])

    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err.splitlines() == [f"credmock verify: cannot reach {url}: connection refused"]
    error = ET.parse(report).getroot().find("testsuite/testcase/error")
    assert error is not None and error.get("message") == "connection refused"


def test_verify_against_a_server_that_is_down_with_writes_and_tokens_still_one_line(capsys):
    url = f"http://127.0.0.1:{free_port()}"

    account = ["--email", ALICE["email"], "--password", ALICE["password"]]
    status = main(
        ["verify", "--base-url", url, "--tenant", TENANT, "--allow-writes", "--client-id", "x", *account]
    )

    out, err = capsys.readouterr()
    assert (status, out, len(err.splitlines())) == (2, "", 1)
    assert url in err


def test_verify_against_a_server_that_closes_without_answering_exits_2(capsys):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"

        def close_every_connection() -> None:
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                with connection:
                    connection.recv(65536)  # the request read, then closed: no answer, no reset

        threading.Thread(target=close_every_connection, daemon=True).start()
        status = main(["verify", "--base-url", url, "--tenant", TENANT])

    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err.splitlines() == [
        f"credmock verify: cannot reach {url}: server disconnected without sending a response."
    ]


def test_verify_emailed_token_unreadable_fails_that_step_and_skips_the_rest(capsys, credmock_url):
    status, rows = run_verify(
        capsys, credmock_url, *credmock_arguments(credmock_url), "--allow-writes", "--token-command", "exit 3"
    )

    assert status == 1
    confirm = row(rows, "confirm-customer-login-email", "email change and back: confirm")
    assert "FAIL  could not read the emailed token: the token command exited 3" in confirm
    for later in ("confirm again", "request back", "confirm back"):
        assert "SKIP  an earlier step of this flow failed" in "\n".join(
            line for line in rows if f"email change and back: {later}" in line
        )
    # The password flows need no emailed token for their first step, and the change flow passes.
    assert "  PASS" in row(rows, "change-account-password", "change password and back: change back")


def test_verify_each_flow_row_names_the_request_it_sent(credmock_url):
    """The rows come from the steps that send the requests: a row can never describe another."""
    sent: list[tuple[str, str]] = []

    def record(request: httpx.Request) -> None:
        if not request.url.path.startswith("/_mock"):
            sent.append((request.method, request.url.path))

    options = VerifyOptions(
        base_url=credmock_url,
        tenant=TENANT,
        anonymous_token=mock_token(credmock_url, kind="anonymous"),
        customer_token=mock_token(credmock_url, kind="customer", email=ALICE["email"]),
        email=ALICE["email"],
        password=ALICE["password"],
        allow_writes=True,
    )
    with httpx.Client(base_url=credmock_url, event_hooks={"request": [record]}) as client:
        outcomes = Verifier(options, client).run()

    assert len(outcomes) == len(sent) == READ_ONLY_PROBES + FLOW_STEPS
    for outcome, (method, path) in zip(outcomes, sent, strict=True):
        assert outcome.verdict == "pass", outcome
        assert (method, path) == (
            outcome.operation.method,
            outcome.operation.path.replace("{tenant}", TENANT),
        )
