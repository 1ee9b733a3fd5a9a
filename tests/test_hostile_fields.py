"""Nothing a client sends escapes its field: not into a mail header (an RFC 2047 encoded word in a
name), not into the journal (a password sent in another charset or with an escaped key), not
into a log line (a line feed, an escape sequence, a Unicode line separator), not past a pattern
(a tenant with a final line feed), not into an interim status (a fault's 1xx).

The mail tests deliver to a real SMTP server (aiosmtpd) and parse the message it received."""

from __future__ import annotations

import ast
import email
import io
import json
import re
from collections.abc import Iterator
from email.errors import NonASCIILocalPartDefect
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import compat32
from email.policy import default as default_policy
from email.utils import unquote
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from credmock.core import exceptions as errors
from credmock.core.visible_text import UNSAFE, one_line, visible
from credmock.domain.tenants import TENANT_PATTERN, is_valid_tenant
from credmock.observe.faults import FaultRegistry
from credmock.tools.testing import free_port
from tests.conftest import ALICE, TENANT, ContractClient, bearer, error_body, error_fields
from tests.test_smtp import Recorder, start_smtp, wait_for

ROOT = Path(__file__).resolve().parent.parent
SHOP_SENDER = "Demo Shop <shop@example.com>"
# The header section of every email credmock delivers: these, in this order, and nothing else.
DELIVERED_HEADERS = [
    "Subject",
    "From",
    "To",
    "Date",
    "Message-ID",
    "X-Credmock-Kind",
    "X-Credmock-Tenant",
    "X-Credmock-Token",
    "MIME-Version",
    "Content-Type",
]
PASSWORD = "hunter2-secret"


# Mail ----------------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[tuple[str, Recorder]]:
    controller, recorder = start_smtp()
    yield f"smtp://127.0.0.1:{controller.port}", recorder
    controller.stop()


def display_name(raw_to: str) -> str:
    """The display name of a raw ``To`` value, decoded as RFC 2047 says (whitespace between two
    encoded words is not text; Python 3.11's address parser keeps it, CPython gh-128110)."""
    phrase = raw_to[: raw_to.rindex("<")].strip()
    if phrase.startswith('"'):
        return unquote(phrase)
    return str(make_header(decode_header(phrase)))


def check_delivered(raw: bytes, *, to: str, name: str, token: str, subject: str) -> EmailMessage:
    """``raw`` is exactly the message credmock wrote: its headers, one recipient, the name as
    the customer gave it on one line, no defect. (UTF-8 only in an address, RFC 6532.)"""
    text = raw.decode("utf-8")
    message: EmailMessage = email.message_from_string(text, policy=default_policy)  # type: ignore[assignment]
    header_names = [name for name in message if name != "Content-Transfer-Encoding"]
    assert header_names == DELIVERED_HEADERS, text
    assert not message.defects
    [recipient] = message["To"].addresses
    assert recipient.addr_spec == to
    # Python's parser knows no RFC 6532: a UTF-8 local part is its "defect", and only that.
    assert all(isinstance(defect, NonASCIILocalPartDefect) for defect in message["To"].defects)
    assert not message["To"].defects or not to.isascii()
    raw_to = email.message_from_string(text, policy=compat32)["To"]
    assert display_name(raw_to) == one_line(name)
    assert message["Subject"] == subject
    assert message["X-Credmock-Token"] == token
    assert message["X-Credmock-Tenant"] == TENANT
    assert message["From"] == SHOP_SENDER
    for line in text.split("\r\n\r\n", 1)[0].split("\r\n"):  # a header or its folding, each
        assert re.fullmatch(r"[A-Za-z-]+: .*| .+", line) and not UNSAFE.search(line), line
        assert line.isascii() or line[: line.rindex("<")].isascii(), line
    return message


def signup_and_reset(client: ContractClient, address: str, first_name: str, last_name: str) -> None:
    anonymous = bearer(client.anonymous_token())
    created = client.post(
        f"/customer/{TENANT}/signup",
        json={
            "email": address,
            "password": "eve-pass-5",
            "customerDetails": {"firstName": first_name, "lastName": last_name},
        },
        headers=anonymous,
    )
    assert created.status_code == 201, created.text
    reset = client.post(f"/customer/{TENANT}/password/reset", json={"email": address}, headers=anonymous)
    assert reset.status_code == 204, reset.text


HOSTILE_NAMES = {
    "q-encoded-word": (
        "=?utf-8?q?x=0D=0AX-Injected:_yes=0D=0AReply-To:_a@evil.test?=",
        "=?UTF-8?Q?y=0D=0ABcc:_victim@example.com?=",
    ),
    "b-encoded-word": ("=?utf-8?b?eA0KQmNjOiB2aWN0aW1AZXhhbXBsZS5jb20NClgtSW5qZWN0ZWQ6IHllcw==?=", "Smith"),
    "raw-crlf": ("Eve\r\nBcc: victim@example.com\r\nX-Injected: yes", "Smith\n"),
    "unicode-separators": ("Eve\u2028Bcc: victim@example.com\u2029X-Injected: yes", "Sm\u0085ith"),
    "long-mixed-charsets": ("Jürgen Müller-Lüdenscheidt " * 4 + "=?utf-8?q?=0A?=", "山田 太郎 Ωμέγα"),
}


@pytest.mark.parametrize("first_name,last_name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_encoded_word_in_a_name_cannot_add_a_mail_header(client_with, smtp, first_name, last_name) -> None:
    url, recorder = smtp
    client = client_with(smtp_url=url, mail_from=SHOP_SENDER)

    signup_and_reset(client, "eve@example.com", first_name, last_name)

    [envelope] = wait_for(lambda: recorder.envelopes, "the delivery")
    sent = client.latest_email()
    assert envelope.rcpt_tos == ["eve@example.com"]
    message = check_delivered(
        envelope.original_content,
        to="eve@example.com",
        name=f"{first_name} {last_name}",
        token=sent["token"],
        subject=sent["subject"],
    )
    assert message["X-Injected"] is None and message["Reply-To"] is None and message["Bcc"] is None
    assert wait_for(lambda: client.latest_email()["delivery"]["status"] == "sent", "the sent status")


def test_non_ascii_address_without_smtputf8_fails_its_delivery_saying_why(client_with) -> None:
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=False)
    controller.start()
    try:
        client = client_with(smtp_url=f"smtp://127.0.0.1:{controller.port}", mail_from=SHOP_SENDER)

        signup_and_reset(client, "jörg@example.com", "Jörg", "Müller")

        delivery = wait_for(
            lambda: (
                client.latest_email()["delivery"]["status"] == "failed" and client.latest_email()["delivery"]
            ),
            "the failed delivery",
        )
    finally:
        controller.stop()
    assert "SMTPUTF8" in delivery["error"]
    assert recorder.envelopes == []


def test_non_ascii_address_is_delivered_with_smtputf8(client_with, smtp) -> None:
    url, recorder = smtp
    client = client_with(smtp_url=url, mail_from=SHOP_SENDER)

    signup_and_reset(client, "jörg@example.com", "Jörg", "Müller")

    [envelope] = wait_for(lambda: recorder.envelopes, "the delivery")
    sent = client.latest_email()
    assert envelope.rcpt_tos == ["jörg@example.com"]
    check_delivered(
        envelope.original_content,
        to="jörg@example.com",
        name="Jörg Müller",
        token=sent["token"],
        subject=sent["subject"],
    )


# Journal -------------------------------------------------------------------------------------

LOGIN = f"/customer/{TENANT}/login"
LOGIN_BODY = {"email": ALICE["email"], "password": PASSWORD}
# (content type, body bytes, what the journal shows: the masked JSON, or None for a hidden note)
SENT_BODIES: dict[str, tuple[str, bytes, Any]] = {
    "utf-16": (
        "application/json; charset=utf-16",
        json.dumps(LOGIN_BODY).encode("utf-16"),
        {"email": ALICE["email"], "password": "***"},
    ),
    "utf-16-without-charset": (
        "application/json",
        json.dumps(LOGIN_BODY).encode("utf-16-le"),
        {"email": ALICE["email"], "password": "***"},
    ),
    "utf-32-be": (
        "application/json; charset=UTF-32BE",
        json.dumps(LOGIN_BODY).encode("utf-32-be"),
        {"email": ALICE["email"], "password": "***"},
    ),
    "utf-8-bom": (
        "application/json",
        b"\xef\xbb\xbf" + json.dumps(LOGIN_BODY).encode(),
        {"email": ALICE["email"], "password": "***"},
    ),
    "escaped-key": (
        "application/json",
        b'{"email": "alice@example.com", "\\u0070assword": "hunter2-secret"}',
        {"email": ALICE["email"], "password": "***"},
    ),
    "invalid-json-escaped-key": ("application/json", b'{"\\u0070assword": "hunter2-secret",}', None),
    "invalid-json-utf-16": (
        "application/json; charset=utf-16",
        '{"pass\\u0077ord": "hunter2-secret",}'.encode("utf-16"),
        None,
    ),
    "utf-16-declared-utf-8": (
        "application/json; charset=utf-8",
        "{'password': 'hunter2-secret'".encode("utf-16"),
        None,
    ),
    "text-plain": ("text/plain", json.dumps(LOGIN_BODY).encode(), None),
    "form-percent-escaped": ("application/x-www-form-urlencoded", b"p%61ssword=hunter2-secret", None),
    "utf-7": ("application/json; charset=utf-7", b'{"+AHAAYQBzAHMAdwBvAHIAZA-": "hunter2-secret"}', None),
    "no-content-type": ("", json.dumps(LOGIN_BODY).encode(), None),
}


@pytest.mark.parametrize("content_type,body,shown", SENT_BODIES.values(), ids=SENT_BODIES.keys())
def test_password_in_any_charset_is_masked_in_the_journal(client, content_type, body, shown) -> None:
    headers = {"Authorization": f"Bearer {client.anonymous_token()}"}
    if content_type:
        headers["Content-Type"] = content_type
    client.post(LOGIN, content=body, headers=headers)

    response = client.get("/_mock/requests", params={"path": LOGIN})

    [entry] = response.json()
    assert PASSWORD not in response.text
    assert PASSWORD not in json.dumps(entry, ensure_ascii=False)
    if shown is None:
        assert "hidden" in entry["body"]
    else:
        assert entry["body"] == shown


def test_body_that_names_no_secret_is_shown_as_sent_in_the_journal(client) -> None:
    client.post(
        f"/customer/{TENANT}/password/reset",
        content='{"email": "alice@example.com",}'.encode("utf-16"),
        headers={"Content-Type": "application/json; charset=utf-16", **bearer(client.anonymous_token())},
    )

    [entry] = client.get("/_mock/requests", params={"path": "/password/reset"}).json()

    assert entry["status"] == 400
    assert entry["body"] == '{"email": "alice@example.com",}'


def test_charset_holding_a_nul_is_a_400_not_a_500(client) -> None:
    response = client.post(
        f"/customer/{TENANT}/password/reset",
        content=b'{"email": "alice@example.com"}',
        headers={"Content-Type": b"application/json; charset=utf\x00-8", **bearer(client.anonymous_token())},
    )

    body = error_body(response, 400)
    assert error_fields(body) == ["Content-Type"]
    assert "hidden" not in client.get("/_mock/requests", params={"path": "/password/reset"}).json()[0]["body"]


# Request log ---------------------------------------------------------------------------------

FORGED = "12:00:00.000 POST /customer/demo/password/reset 204 0.4 ms"


def logging_client(client_with, log_format: str) -> tuple[ContractClient, io.StringIO]:
    client = client_with(log_format=log_format)
    stream = io.StringIO()
    client.app.inspection.request_log.stream = stream
    return client, stream


def assert_safe_lines(output: str, count: int) -> list[str]:
    lines = output.splitlines()
    assert output.endswith("\n") and output.count("\n") == len(lines) == count, output
    for line in lines:
        assert not UNSAFE.search(line), line
    return lines


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_forged_request_log_lines_are_made_visible(client_with, log_format) -> None:
    client, stream = logging_client(client_with, log_format)
    hostile_path = f"/customer/demo%0A{FORGED.replace(' ', '%20')}/x%1b[31m%C2%9B%E2%80%A8%E2%80%AE"
    client.post(hostile_path, json={})  # 404: no operation at this path
    client.post(
        "/_mock/tokens",
        json={"tenant": TENANT, "kind": "customer", "email": f"nobody@example.com\n{FORGED}"},
    )  # a reason that quotes the email
    client.get("/customerlogin/auth/anonymous/login?tenant=%0Aforged&client_id=x")

    lines = assert_safe_lines(stream.getvalue(), 3)

    if log_format == "json":
        fields = [json.loads(line) for line in lines]
        assert fields[0]["path"] == visible(client.app.inspection.journal.find()[-1].path)
        assert "\\x0a12:00:00.000" in fields[0]["path"]
        assert "\\x1b[31m\\x9b\\u2028\\u202e" in fields[0]["path"]
        assert "\\x0a12:00:00.000" in fields[1]["reason"]
        reason = fields[2]["reason"]
    else:
        assert "/customer/demo\\x0a12:00:00.000 POST" in lines[0] and "\\x1b[31m\\x9b\\u2028" in lines[0]
        assert "nobody@example.com\\x0a12:00:00.000 POST" in lines[1]
        reason = lines[2].split("ms  ", 1)[1]
    assert "forged" not in reason
    assert reason == "Query parameter 'tenant' does not match '^[a-z][a-z0-9]+$'"


def test_visible_escapes_are_unambiguous() -> None:
    assert visible("a\\x0ab") == "a\\\\x0ab"  # a backslash the client sent is doubled
    assert visible("a\nb") == "a\\x0ab"
    assert visible("plain/path-ü") == "plain/path-ü"
    for code in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, 0x202E]:
        assert not UNSAFE.search(visible(chr(code))), hex(code)


# Patterns apply to the whole value -------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("GET", "/customerlogin/auth/anonymous/login?tenant=demo%0A&client_id=x", None),
        ("POST", "/_mock/tokens", {"tenant": "demo\n", "kind": "anonymous"}),
        ("POST", "/_mock/faults", {"operation": "*", "tenant": "demo\n", "status": 503}),
        ("POST", "/_mock/tenants/demo%0A/customers", {"email": "x@example.com", "password": "x-pass-1"}),
    ],
    ids=["anonymous-login", "mock-tokens", "faults", "mock-customers"],
)
def test_tenant_with_a_final_newline_is_refused(client, method, path, body) -> None:
    response = client.request(method, path, json=body)

    error_body(response, 400)
    assert client.get("/_mock/faults").json() == []
    assert client.get("/_mock/tenants/demo/customers").status_code == 200


def test_tenant_with_a_final_newline_in_a_contract_path_is_refused(client) -> None:
    response = client.post(
        f"/customer/{TENANT}%0A/password/reset",
        json={"email": ALICE["email"]},
        headers=bearer(client.anonymous_token()),
    )

    error_body(response, 400)
    assert client.outbox() == []


def test_tenant_rule_matches_the_whole_name() -> None:
    assert is_valid_tenant("demo")
    for name in ("demo\n", "demo\r\n", "\ndemo", "de\nmo", "demo "):
        assert not is_valid_tenant(name), repr(name)


@pytest.mark.parametrize("spec_name", ["mock-api.yaml", "storefront.yaml", "openapi.yaml"])
def test_tenant_rule_is_the_contracts_tenant_pattern(spec_name: str) -> None:
    text = (ROOT / "spec" / spec_name).read_text(encoding="utf-8")
    patterns = set(re.findall(r"pattern: '?(\^\[a-z\]\S*\$)'?", text))

    assert patterns == {f"^{TENANT_PATTERN.pattern}$"}


def _dollar_anchored_patterns(path: Path) -> Iterator[tuple[int, str]]:
    """Regular expressions in ``path`` that end a match with ``$`` (also before a final line
    feed in Python): each should be applied with fullmatch, or end with \\Z."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
            continue
        if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "re"):
            continue
        first = node.args[0]
        parts = [first] if isinstance(first, ast.Constant) else getattr(first, "values", [])
        for part in parts:
            if isinstance(part, ast.Constant) and isinstance(part.value, str | bytes):
                text = part.value if isinstance(part.value, str) else part.value.decode("latin-1")
                if re.search(r"(?<!\\)\$", re.sub(r"\[[^\]]*\]", "", text)):
                    yield node.lineno, text


def test_no_pattern_of_the_mock_anchors_with_a_dollar() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {pattern!r}"
        for folder in (ROOT / "credmock", ROOT / "handlers")
        for path in sorted(folder.rglob("*.py"))
        for line, pattern in _dollar_anchored_patterns(path)
    ]

    assert not found, "patterns that match before a final line feed:\n" + "\n".join(found)


# Faults answer with a final status -----------------------------------------------------------


@pytest.mark.parametrize("status", [100, 101, 102, 103, 199])
def test_fault_with_an_interim_status_is_refused(client, status) -> None:
    response = client.post("/_mock/faults", json={"operation": "*", "status": status})

    body = error_body(response, 400)
    assert error_fields(body) == ["status"]
    assert client.get("/_mock/faults").json() == []


@pytest.mark.parametrize("status", [200, 599])
def test_fault_with_a_final_status_is_answered(client, status) -> None:
    created = client.post("/_mock/faults", json={"operation": "*", "status": status})
    assert created.status_code == 201, created.text

    anonymous = bearer(client.anonymous_token())

    # the raw test client: an injected answer is outside the contract by design
    response = client.app.test_client().post(LOGIN, json=LOGIN_BODY, headers=anonymous)

    assert response.status_code == status


def test_fault_registry_refuses_an_interim_status_on_its_own() -> None:
    registry = FaultRegistry(["POST-customer-authenticate-customer"])

    with pytest.raises(errors.ValidationFailed) as refused:
        registry.add({"operation": "*", "status": 100})

    assert refused.value.details[0].field == "status"
    assert len(registry) == 0
