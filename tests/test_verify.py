"""`credmock verify` both ways: credmock itself passes every probe, a planted fault is caught,
and the exit status is one a release gate can use."""

from __future__ import annotations

import json
import re
import shlex
import socket
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest

from credmock.app import CONTRACT_SPEC, load_served_spec
from credmock.settings import Settings
from credmock.tools.cli import main
from credmock.tools.testing import LiveServer, free_port
from credmock.tools.verify import VerifyOptions
from credmock.tools.verify.model import served_operations
from credmock.tools.verify.runner import Verifier
from tests.broken_server import Answer, Plant, PlantedServer
from tests.conftest import ALICE, TENANT

SERVED = served_operations(load_served_spec(CONTRACT_SPEC))
SUMMARY = re.compile(r"^\d+ probes of \d+ operations")
LOGIN = ["--client-id", "storefront", "--email", ALICE["email"], "--password", ALICE["password"]]


@pytest.fixture(scope="module")
def credmock() -> Iterator[LiveServer]:
    with LiveServer(Settings(seed=7)) as server:
        yield server


@pytest.fixture
def credmock_url(credmock: LiveServer) -> Iterator[str]:
    yield credmock.base_url
    httpx.post(f"{credmock.base_url}/_mock/reset")  # the write flows change Alice's account


@pytest.fixture(scope="module")
def planted_server() -> Iterator[PlantedServer]:
    with PlantedServer() as server:
        yield server


@pytest.fixture
def planted(planted_server: PlantedServer) -> Iterator[PlantedServer]:
    yield planted_server
    planted_server.plants.clear()
    httpx.post(f"{planted_server.base_url}/_mock/reset")


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


def run_verify(
    capsys: pytest.CaptureFixture[str], base_url: str, *arguments: str
) -> tuple[int, list[str], list[str]]:
    """Exit status, the table's rows (without the header) and the closing lines (the summary)."""
    status = main(["verify", "--base-url", base_url, "--tenant", TENANT, *arguments])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["OPERATION", "PROBE", "EXPECTED", "GOT", "VERDICT"]
    end = next(index for index, line in enumerate(lines) if SUMMARY.match(line))
    return status, lines[1:end], lines[end:]


def row(rows: list[str], operation: str, probe: str) -> str:
    matches = [line for line in rows if re.split(r"\s{2,}", line)[:2] == [operation, probe]]
    assert len(matches) == 1, (operation, probe, rows)
    return matches[0]


def test_verify_credmock_passes_every_probe_of_every_served_operation(capsys, credmock_url, tmp_path):
    report = tmp_path / "verify.xml"
    status, rows, closing = run_verify(capsys, credmock_url, *LOGIN, "--allow-writes", "--junit", str(report))
    assert status == 0, "\n".join(rows)
    assert all("  PASS" in line for line in rows), [line for line in rows if "  PASS" not in line]
    assert closing[0].endswith(f"{len(rows)} passed, 0 failed, 0 skipped")
    cases = list(ET.parse(report).getroot().iter("testcase"))
    assert len(cases) == len(rows)
    # Every served operation (the contract's and the storefront's) has probes in the JUnit file.
    assert {case.get("classname") for case in cases} == set(SERVED) and len(SERVED) >= 21
    for operation_id, operation in SERVED.items():
        generated = [
            c for c in cases if c.get("classname") == operation_id and "generated:" in c.get("name", "")
        ]
        if operation.body_schema is not None:
            assert len(generated) >= 5, (operation_id, [c.get("name") for c in generated])
    # Alice logs in with her own email and password again.
    token = {"tenant": TENANT, "kind": "customer", "email": ALICE["email"], "password": ALICE["password"]}
    assert httpx.post(f"{credmock_url}/_mock/tokens", json=token).status_code == 201


def test_verify_storefront_operations_are_probed_read_only_by_default(capsys, credmock_url):
    status, rows, _ = run_verify(capsys, credmock_url, *LOGIN)
    assert status == 0, "\n".join(rows)
    for operation, probe in [
        ("authenticate-customer", "wrong password"),
        ("create-customer-account", "email that has an account"),
        ("refresh-authtoken", "session: refresh"),
        ("validate-token", "session: validate after logout"),
        ("logout-customer", "session: logout"),
        ("retrieve-customer-profile", "anonymous token"),
        ("list-customer-addresses", "customer token"),
        ("update-customer", "generated: firstName of type integer"),
        ("add-address", "generated: missing required contactName"),
        ("add-address", "generated: country longer than 2"),
    ]:
        assert "  PASS" in row(rows, operation, probe)
    # Nothing that changes the account runs without --allow-writes.
    assert not [line for line in rows if "address add and remove" in line or "profile change" in line]
    assert httpx.get(f"{credmock_url}/_mock/outbox").json() == []


def test_verify_guarded_credmock_flows_read_the_outbox_with_the_control_token(capsys):
    with LiveServer(Settings(seed=7, control_token="guard-token-1")) as guarded:
        status, rows, closing = run_verify(capsys, guarded.base_url, *LOGIN, "--allow-writes")
        emailed_steps = [
            line for line in rows if "email change and back" in line or "password reset:" in line
        ]
        assert len(emailed_steps) == 10
        assert all("--control-token" in line and "  SKIP" in line for line in emailed_steps), emailed_steps
        assert status == 0, "\n".join(rows)  # a skip for an option not given is reported, not failed
        assert any("--control-token" in line for line in closing[1:])

        arguments = [*LOGIN, "--allow-writes", "--control-token", "guard-token-1"]
        status, rows, _ = run_verify(capsys, guarded.base_url, *arguments)
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
    status, rows, _ = run_verify(
        capsys, credmock_url, *credmock_arguments(credmock_url), "--allow-writes", "--token-command", command
    )
    assert status == 0, "\n".join(rows)
    assert "  PASS" in row(rows, "reset-password", "password reset: reset back")
    assert not [line for line in rows if "  FAIL" in line]


def test_verify_without_tokens_skips_the_probes_that_need_one_and_names_why(capsys, credmock_url):
    status, rows, closing = run_verify(capsys, credmock_url)
    assert status == 0  # nothing failed: the tokens were not given
    skipped = [line for line in rows if "  SKIP" in line]
    assert "give --anonymous-token or --client-id" in row(rows, "reset-password", "bogus token")
    assert "give --customer-token, or --email and --password" in row(
        rows, "change-account-password", "wrong current password"
    )
    assert all("  PASS" in line for line in rows if line not in skipped)
    # The summary names every reason, with how many probes it skipped.
    named = sum(int(re.match(r"skipped (\d+)", line).group(1)) for line in closing[1:])  # type: ignore[union-attr]
    assert named == len(skipped) > 0
    assert closing[0].endswith(f"0 failed, {len(skipped)} skipped")


def test_verify_wrong_password_fails_the_gate_and_names_the_refused_login(capsys, credmock_url):
    arguments = ["--client-id", "storefront", "--email", ALICE["email"], "--password", "wrong-password-1"]
    status, rows, closing = run_verify(capsys, credmock_url, *arguments)
    assert status == 1
    assert not [line for line in rows if "  FAIL" in line]  # no violation: the skips fail the gate
    refused = [line for line in closing if "a failed credential" in line]
    assert len(refused) == 1
    assert "no customer token: POST /customer/demo/login answered 401" in refused[0]
    assert "SKIP  no customer token: POST /customer/demo/login answered 401" in row(
        rows, "change-account-password", "wrong current password"
    )


def test_verify_wrong_password_with_allow_skips_passes_the_gate(capsys, credmock_url):
    arguments = ["--client-id", "storefront", "--email", ALICE["email"], "--password", "wrong-password-1"]
    status, rows, closing = run_verify(capsys, credmock_url, *arguments, "--allow-skips")
    assert status == 0
    assert [line for line in rows if "  SKIP" in line] and not [line for line in rows if "  FAIL" in line]
    assert any("a failed credential" in line for line in closing)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--fail-on-drift"], "--fail-on-drift needs --compare-mock"),
        (["--max-generated", "-1"], "--max-generated must be 0 or more"),
        (["--mailbox", "pop3://u@h/INBOX"], "use imap://USER@HOST[:PORT]/FOLDER"),
        (["--mailbox", "imap://u:secret@h/INBOX"], "the password goes in an environment variable"),
        (["--mailbox", "imap://u@h/INBOX", "--token-command", "true"], "not both"),
    ],
    ids=["drift-without-compare", "negative-bound", "not-imap", "password-in-url", "two-readers"],
)
def test_verify_wrong_option_exits_2_before_any_request(capsys, arguments, message):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: a request would say so
    status = main(["verify", "--base-url", url, "--tenant", TENANT, *arguments])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert message in err and "cannot reach" not in err


def test_verify_mailbox_without_its_password_exits_2(capsys, monkeypatch):
    monkeypatch.delenv("CREDMOCK_MAILBOX_PASSWORD", raising=False)
    status = main(["verify", "--base-url", "http://127.0.0.1:1", "--tenant", TENANT,
                   "--mailbox", "imap://u@h/INBOX"])  # fmt: skip
    assert status == 2
    assert "$CREDMOCK_MAILBOX_PASSWORD" in capsys.readouterr().err


def test_verify_max_generated_bounds_the_generated_negatives_over_every_operation(capsys, credmock_url):
    status, rows, closing = run_verify(capsys, credmock_url, *LOGIN, "--max-generated", "30")
    assert status == 0
    generated = [line for line in rows if "generated: " in line]
    assert len(generated) == 30
    assert "(30 generated from the contract)" in closing[0]
    # Round-robin: the bound keeps every operation's first case rather than the first operations'.
    assert len({line.split()[0] for line in generated}) >= 20


def test_verify_server_that_ignores_its_schema_is_caught_by_the_generated_negatives(capsys, planted):
    planted.plants["/password/reset"] = Plant("POST", Answer(204, None), when="with token")
    status, rows, _ = run_verify(capsys, planted.base_url, *LOGIN)
    assert status == 1
    for probe in ("missing required email", "email of type integer", "malformed JSON body"):
        caught = row(rows, "request-reset-password", f"generated: {probe}")
        assert "FAIL  expected a refusal the operation declares (400, 401, 403), got 204" in caught
    assert "  PASS" in row(rows, "request-reset-password", "unknown email")


@pytest.mark.parametrize(
    ("path", "plant", "operation", "probe", "reason"),
    [
        (
            "/password/reset",
            Plant("POST", Answer(200, {"sent": True}), when="with token"),
            "request-reset-password",
            "unknown email",
            "contract: status 200 is not declared for this operation (declared: 204, 400, 401, 403)",
        ),
        (
            "/password/reset/update",
            Plant("POST", Answer(500, {"status": 500, "type": "internal_error", "message": "boom"})),
            "reset-password",
            "bogus token",
            "contract: status 500 is not declared for this operation",
        ),
        (
            "/me/accounts/internal/email/change/confirm",
            Plant("POST", Answer(400, {"status": "400", "type": "invalid_token", "message": "Bad token."})),
            "confirm-customer-login-email",
            "bogus token",
            "contract: body does not match the schema: status: '400' is not of type 'integer'",
        ),
        (
            "/password/change",
            Plant("POST", Answer(400, "<html><body>Bad Request</body></html>", content_type="text/html")),
            "change-account-password",
            "wrong current password",
            "contract: content type 'text/html; charset=utf-8' is not declared (declared: application/json)",
        ),
        (
            "/password/change",
            Plant("POST", Answer(401, {"fault": "Invalid access token"}), when="without token"),
            "change-account-password",
            "generated: no token",
            "contract: body does not match the schema: fault: 'Invalid access token' is not of type 'object'",
        ),
        (
            "/me/accounts/internal/email/change",
            Plant("POST", Answer(400, {"status": 400})),
            "change-customer-login-email",
            "wrong password",
            "expected an ErrorMessage with a message, got '{\"status\": 400}'",
        ),
        (
            "/me",
            Plant("GET", Answer(200, {"id": 7}), when="with token"),
            "retrieve-customer-profile",
            "customer token",
            "contract: body does not match the schema",
        ),
    ],
    ids=["undeclared-200", "status-500", "wrong-field-type", "html-error", "fault-string", "no-message",
         "storefront-profile"],
)  # fmt: skip
def test_verify_planted_violation_is_caught_with_its_reason(
    capsys, planted, tmp_path, path, plant, operation, probe, reason
):
    planted.plants[path] = plant
    report = tmp_path / "verify.xml"
    status, rows, _ = run_verify(capsys, planted.base_url, *LOGIN, "--junit", str(report))
    assert status == 1
    caught = row(rows, operation, probe)
    assert "  FAIL  " in caught
    assert reason in caught
    # The report names the probe and the reason as well.
    operation_id = next(o for o in SERVED if SERVED[o].label == operation)
    cases = [
        case
        for case in ET.parse(report).getroot().iter("testcase")
        if case.get("classname") == operation_id and case.get("name", "").startswith(f"{probe} -> ")
    ]
    assert len(cases) == 1
    failure = cases[0].find("failure")
    assert failure is not None and reason in failure.get("message", "")
    # Probes of the other operations still pass: the reason points at the one planted answer.
    others = [line for line in rows if line.split()[0] != operation and "session:" not in line]
    assert all("  PASS" in line for line in others), [line for line in others if "  PASS" not in line]


def test_verify_against_a_server_that_is_not_credmock_skips_the_emailed_flows(capsys, planted):
    planted.plants["/_mock/health"] = Plant("GET", Answer(404, {"message": "Not found."}))
    status, rows, closing = run_verify(capsys, planted.base_url, *LOGIN, "--allow-writes")
    emailed = [line for line in rows if "email change and back" in line or "password reset:" in line]
    assert len(emailed) == 10
    assert all("SKIP  the target is not a credmock" in line for line in emailed)
    assert all("give --mailbox or --token-command" in line for line in emailed)
    # The flows that need no emailed token run and pass; skips for a missing option pass the gate.
    assert "  PASS" in row(rows, "change-account-password", "change password and back: change back")
    assert "  PASS" in row(rows, "remove-customer-address-by-id", "address add and remove: remove")
    assert status == 0
    # Without a credmock to make one up, the other tenant's token needs an option: named in the summary.
    assert any("give --other-tenant or --other-tenant-token" in line for line in closing)


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
    status, rows, _ = run_verify(
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


def test_verify_each_row_names_the_request_it_sent(credmock_url):
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
        other_tenant_token=mock_token(credmock_url, kind="anonymous", tenant="othertenant"),
        email=ALICE["email"],
        password=ALICE["password"],
        allow_writes=True,
    )
    with httpx.Client(base_url=credmock_url, event_hooks={"request": [record]}) as client:
        outcomes = Verifier(options, client).run()

    answered = [outcome for outcome in outcomes if outcome.verdict != "skipped"]
    assert [o.probe for o in outcomes if o not in answered] == [
        "anonymous login",
        "bogus refresh token",
        "refresh the anonymous token",
    ]
    assert len(answered) == len(sent) > 200
    for outcome, (method, path) in zip(answered, sent, strict=True):
        assert outcome.verdict == "pass", outcome
        assert outcome.exchange is not None and outcome.exchange.url.split("?")[0] == path
        template = re.escape(outcome.operation.path).replace(re.escape("{tenant}"), TENANT)
        assert method == outcome.operation.method
        template = re.sub(r"\\\{\w+\\\}", "[^/]+", template)  # any other path parameter
        assert re.fullmatch(template, path), (outcome.probe, path)


def _type_to(new_type: str):
    def transform(status: int, headers: dict[str, str], body: bytes):
        answer = json.loads(body) if body else None
        if status == 400 and isinstance(answer, dict) and answer.get("type") == "invalid_token":
            body = json.dumps({**answer, "type": new_type}).encode()
        return status, headers, body

    return transform


def _extra_field(status: int, headers: dict[str, str], body: bytes):
    if status == 200:
        body = json.dumps({**json.loads(body), "loyaltyPoints": 0}).encode()
    return status, headers, body


def _content_type_without_body(status: int, headers: dict[str, str], body: bytes):
    if status == 204:
        headers = {**headers, "content-type": "application/json"}
    return status, headers, body


def test_verify_compare_mock_names_exactly_the_planted_differences(capsys, planted, tmp_path):
    """A target that differs from credmock only inside the contract: every probe passes, and the
    drift lists the three planted differences and nothing else."""
    planted.plants["/password/reset/update"] = Plant("POST", transform=_type_to("bad_request"))
    planted.plants["/me"] = Plant("GET", transform=_extra_field, when="with token")
    planted.plants["/password/reset"] = Plant("POST", transform=_content_type_without_body, when="with token")
    report, page = tmp_path / "verify.json", tmp_path / "verify.html"
    status, rows, closing = run_verify(
        capsys, planted.base_url, *LOGIN, "--compare-mock", "--json", str(report), "--report", str(page)
    )
    assert status == 0, [line for line in rows if "  PASS" not in line]  # drift alone passes the gate

    drift = {(d["operationId"], d["probe"], d["aspect"], str(d["target"]), str(d["mock"]))
             for d in json.loads(report.read_text())["drift"]}  # fmt: skip
    assert drift == {
        ("POST-customer-reset-password", "bogus token", "error type", "bad_request", "invalid_token"),
        ("GET-customer-retrieve-customer-profile", "customer token", "body fields", "loyaltyPoints",
         "(only declared ones)"),
        ("GET-customer-retrieve-customer-profile", "anonymous token", "body fields", "loyaltyPoints",
         "(only declared ones)"),
        ("POST-customer-request-reset-password", "unknown email", "Content-Type", "application/json",
         "(none)"),
    }  # fmt: skip
    assert "drift against the mock: 4 difference(s)" in closing
    assert "Drift against the mock: 4 difference(s)" in page.read_text()
    assert any(
        "bogus token: error type: target 'bad_request', mock 'invalid_token'" in line for line in closing
    )


def test_verify_fail_on_drift_makes_drift_exit_1(capsys, planted):
    planted.plants["/password/reset/update"] = Plant("POST", transform=_type_to("bad_request"))
    status, _, closing = run_verify(capsys, planted.base_url, *LOGIN, "--compare-mock", "--fail-on-drift")
    assert status == 1
    assert "drift against the mock: 1 difference(s)" in closing


def test_verify_compare_mock_of_credmock_itself_finds_no_drift(capsys, credmock_url):
    status, _, closing = run_verify(capsys, credmock_url, *LOGIN, "--allow-writes", "--compare-mock",
                                    "--fail-on-drift")  # fmt: skip
    assert "drift against the mock: 0 difference(s)" in closing
    assert status == 0
