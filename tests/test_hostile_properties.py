"""Hostile text in every field a client fills, through the flows that carry it furthest: signup,
login, a password reset delivered to a real SMTP server (aiosmtpd), the reset itself, and the
control API. Names, emails, paths, queries and headers are built from control characters (C0,
C1, DEL), RFC 2047 encoded words (``q`` and ``b``) that decode to line breaks and headers, the
Unicode line separators, bidirectional overrides and text in several scripts; bodies are sent in
every charset the mock accepts, and sometimes as JSON it refuses.

After each example: every delivered message parses to exactly the headers credmock wrote; no
request-log line (text or JSON) holds a raw control character or line separator, and each
request made exactly one line; no journal entry holds a password or a token that was sent.

Examples are derandomized (the same requests on every run) and bounded, so the file stays a
quick part of ``make test``.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from credmock.app import create_app
from credmock.core.visible_text import UNSAFE
from credmock.settings import Settings
from credmock.tools.contract import ContractChecker
from credmock.tools.testing import free_port
from tests.conftest import TENANT, ContractClient, bearer
from tests.test_hostile_fields import SHOP_SENDER, check_delivered
from tests.test_smtp import Recorder

EXAMPLES = 30
WAIT_SECONDS = 30

# Characters that end or bend a line somewhere: every C0 and C1 control, DEL, the Unicode line
# and paragraph separators, bidirectional overrides and isolates, a byte order mark.
CONTROLS = [chr(code) for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))]
CONTROLS += ["\u2028", "\u2029", "\u202e", "\u2066", "\u200f", "\ufeff"]
# What an attacker wants a line break to start: a header, a recipient, a log line.
INJECTIONS = [
    "\r\nBcc: victim@example.com",
    "\nX-Injected: yes",
    "\r\n\r\n<html>",
    "\u2028Reply-To: a@evil.test",
    "\n12:00:00.000 POST /customer/demo/password/reset 204 0.4 ms",
    "\x1b[31mred\x1b[0m",
    "\x9b31m",
    "%0A",
    "\\x0a",
    "=?",
    "?=",
]
SCRIPTS = "aZ09 .-'\"\\<>@,;:Üüß山田太郎Ωμέγαשלוםعربي😀"


def q_word(text: str, charset: str = "utf-8") -> str:
    encoded = "".join(f"={byte:02X}" for byte in text.encode(charset, "replace"))
    return f"=?{charset}?q?{encoded}?="


def b_word(text: str, charset: str = "utf-8") -> str:
    return f"=?{charset}?b?{base64.b64encode(text.encode(charset, 'replace')).decode()}?="


_payload = st.one_of(st.sampled_from(INJECTIONS), st.text(alphabet=SCRIPTS + "".join(CONTROLS), max_size=6))
fragment = st.one_of(
    st.text(alphabet=SCRIPTS, min_size=1, max_size=8),
    st.sampled_from(CONTROLS),
    st.sampled_from(INJECTIONS),
    st.builds(q_word, _payload, st.sampled_from(["utf-8", "UTF-8", "iso-8859-1"])),
    st.builds(b_word, _payload, st.sampled_from(["utf-8", "Utf-8"])),
)
hostile_text = st.lists(fragment, max_size=5).map("".join)

# How a body is sent: (Content-Type, codec), every charset the mock accepts, declared or not.
CHARSETS = [
    ("application/json", "utf-8"),
    ("application/json; charset=utf-8", "utf-8"),
    ("application/json", "utf-8-sig"),
    ("application/json; charset=utf-16", "utf-16"),
    ("application/json", "utf-16-le"),
    ("application/json; charset=UTF-16BE", "utf-16-be"),
    ("application/json; charset=utf-32", "utf-32"),
    ('Application/JSON; Charset="UTF-32LE"', "utf-32-le"),
    ("application/json; charset=iso-8859-1", "latin-1"),
    ("application/json; charset=windows-1252", "cp1252"),
]


@dataclass(frozen=True)
class Case:
    marker: int  # makes this example's secrets and query values its own
    log_format: str
    first_name: str
    last_name: str
    local_part: str
    password: str
    new_password: str
    charset: tuple[str, str]
    broken_json: bool
    path_text: str
    query_text: str
    header_text: bytes


@st.composite
def cases(draw: st.DrawFn) -> Case:
    marker = draw(st.integers(min_value=100_000, max_value=999_999))
    return Case(
        marker=marker,
        log_format=draw(st.sampled_from(["text", "json"])),
        first_name=draw(hostile_text),
        last_name=draw(hostile_text),
        local_part=draw(st.sampled_from(["eve", "jörg", "o'brien", "a+b", "用户", "x.y"])) + str(marker),
        # A distinct core in each secret: found again however the rest is written.
        password=f"Pw{marker}Secret" + draw(hostile_text),
        new_password=f"Nw{marker}Secret" + draw(hostile_text),
        charset=draw(st.sampled_from(CHARSETS)),
        broken_json=draw(st.booleans()),
        path_text=draw(hostile_text),
        query_text=draw(hostile_text),
        header_text=draw(st.binary(max_size=12)).replace(b"\r", b"").replace(b"\n", b"")
        + draw(st.sampled_from([b"", b"=?utf-8?q?=0D=0AX:_y?=", b"\x85\xe2\x80\xa8", b"\t\x9b[2J"])),
    )


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=True)
    controller.start()
    yield f"smtp://127.0.0.1:{controller.port}", recorder
    controller.stop()


@dataclass
class Mock:
    client: ContractClient
    stream: io.StringIO


@pytest.fixture(scope="module")
def mocks(smtp, checkers: list[ContractChecker]) -> dict[str, Mock]:
    """One mock a log format, each delivering to the SMTP server, its log written to a buffer."""
    url, _ = smtp
    found = {}
    for log_format in ("text", "json"):
        app = create_app(
            Settings(
                validate_responses=True, seed=77, smtp_url=url, mail_from=SHOP_SENDER, log_format=log_format
            )
        )
        stream = io.StringIO()
        app.inspection.request_log.stream = stream
        found[log_format] = Mock(ContractClient(app, checkers), stream)
    return found


def body_bytes(value: dict[str, Any], charset: tuple[str, str], broken: bool) -> tuple[str, bytes]:
    """Content type and bytes of ``value`` as JSON in ``charset`` (UTF-8 where the charset cannot
    carry it); ``broken``: with its first key escaped and a trailing comma, which no JSON reader
    accepts."""
    text = json.dumps(value, ensure_ascii=False)
    if broken:
        first = next(iter(value))
        escaped = "".join(f"\\u{ord(character):04x}" for character in first)
        text = text.replace(f'"{first}"', f'"{escaped}"', 1)[:-1] + ",}"
    content_type, codec = charset
    try:
        return content_type, text.encode(codec)
    except UnicodeEncodeError:
        return "application/json; charset=utf-8", text.encode("utf-8")


def send(client: ContractClient, path: str, value: dict[str, Any], case: Case, token: str | None = None):
    content_type, body = body_bytes(value, case.charset, case.broken_json)
    headers = {"Content-Type": content_type}
    if token is not None:
        headers.update(bearer(token))
    return client.post(path, content=body, headers=headers)


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def wait_for_envelope(recorder: Recorder, token: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        for envelope in recorder.envelopes:
            if token.encode() in envelope.original_content:
                return envelope
        time.sleep(0.01)
    raise AssertionError(f"the email with token {token} was not delivered within {WAIT_SECONDS} s")


def run_flows(mock: Mock, recorder: Recorder, case: Case) -> list[str]:
    """Signup, login, reset (delivered), reset update and control calls; the secrets sent."""
    client = mock.client
    email_address = f"{case.local_part}@example.com"
    anonymous = client.anonymous_token()
    secrets = [case.password, case.new_password, anonymous]
    signup = {
        "email": email_address,
        "password": case.password,
        "customerDetails": {"firstName": case.first_name, "lastName": case.last_name},
    }
    created = send(client, f"/customer/{TENANT}/signup", signup, case, anonymous)
    if not case.broken_json:
        assert created.status_code == 201, created.text
    credentials = {"email": email_address, "password": case.password}
    login = send(client, f"/customer/{TENANT}/login", credentials, case, anonymous)
    assert login.status_code == (400 if case.broken_json else 200), login.text
    if login.status_code == 200:
        secrets.append(login.json()["access_token"])

    if created.status_code == 201:  # the reset email, delivered and checked
        reset = client.post(
            f"/customer/{TENANT}/password/reset", json={"email": email_address}, headers=bearer(anonymous)
        )
        assert reset.status_code == 204, reset.text
        sent = client.latest_email(to=email_address)
        secrets.append(sent["token"])
        envelope = wait_for_envelope(recorder, sent["token"])
        assert envelope.rcpt_tos == [email_address]
        check_delivered(
            envelope.original_content,
            to=email_address,
            name=f"{case.first_name} {case.last_name}",
            token=sent["token"],
            subject=sent["subject"],
        )
        update = {"token": sent["token"], "password": case.new_password}
        updated = send(client, f"/customer/{TENANT}/password/reset/update", update, case, anonymous)
        assert updated.status_code == (400 if case.broken_json else 204), updated.text
        customer = client.post(
            "/_mock/tokens",
            json={
                "tenant": TENANT,
                "kind": "customer",
                "email": email_address,
                "password": case.new_password,
            },
        )
        if customer.status_code == 201:
            secrets.append(customer.json()["access_token"])

    # Paths, queries and headers holding the same text; the control API with it too.
    client.post(f"/customer/x{quote(case.path_text, safe='')}/login", json={}, headers=bearer(anonymous))
    client.get(f"/_mock/{quote(case.path_text)}")
    client.get(
        "/customerlogin/auth/anonymous/login",
        params={"tenant": case.query_text, "client_id": f"Cid{case.marker}", "siteCode": case.query_text},
    )
    for authorization in (b"Bearer " + case.header_text, f"Bearer {anonymous}".encode()):
        client.post(
            f"/customer/{TENANT}/password/reset",
            content=b'{"email": "x@example.com"}',
            headers={
                "Content-Type": b"application/json; charset=" + case.header_text,
                "Authorization": authorization,
            },
        )
    client.post(
        "/_mock/tokens",
        json={"tenant": TENANT, "kind": "customer", "email": f"{case.path_text}@example.com"},
    )
    client.post(
        f"/_mock/tenants/{TENANT}/customers",
        json={
            "email": f"{case.query_text}{case.local_part}@example.org",
            "password": case.password,
            "firstName": case.first_name,
            "lastName": case.last_name,
        },
    )
    client.post("/_mock/faults", json={"operation": case.path_text, "tenant": case.query_text, "status": 503})
    client.delete(f"/_mock/faults/{quote(case.path_text, safe='')}")
    return secrets


def wait_for_lines(mock: Mock, count: int) -> list[str]:
    """The log's lines, once it has written ``count`` (a line is written once the event loop
    that served the request runs again)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        output = mock.stream.getvalue()
        if output.count("\n") >= count or time.monotonic() > deadline:
            return output.splitlines(keepends=True)
        time.sleep(0.005)


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(case=cases())
def test_hostile_text_never_leaves_its_field(mocks: dict[str, Mock], smtp, case: Case) -> None:
    note(repr(case))
    _, recorder = smtp
    mock = mocks[case.log_format]
    mock.client.app.reset()  # tokens drawn from the seed again: the last example's emails go
    recorder.envelopes.clear()
    mock.stream.seek(0)
    mock.stream.truncate()

    secrets = run_flows(mock, recorder, case)

    journal = mock.client.app.inspection.journal
    recorded = len(journal)
    lines = wait_for_lines(mock, recorded)
    assert len(lines) == recorded, "".join(lines)  # one line a request, never more
    for line in lines:
        assert line.endswith("\n") and not UNSAFE.search(line[:-1]), line
        if case.log_format == "json":
            json.loads(line)
        assert f"Cid{case.marker}" not in line  # a query value, never in the log

    entries = mock.client.get("/_mock/requests").json()
    shown = list(strings_in(entries))
    for secret in secrets:
        core = secret[:14]  # the distinct part of a password, a whole token
        assert not any(core in text for text in shown), (secret, [text for text in shown if core in text])
