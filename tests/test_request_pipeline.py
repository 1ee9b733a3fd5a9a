"""The request pipeline on both engines, against a live server: whatever the headers said, a
handler sees a decoded JSON object of bounded depth whose strings can be encoded, or the client
gets a 400 ErrorMessage naming the problem. Each answer is checked against the contract, and
after each test the server still serves a whole reset request."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from credmock.app import ENGINES
from credmock.http.request_body import DEFAULT_MAX_JSON_DEPTH
from credmock.settings import Settings
from credmock.tools.testing import LiveServer
from tests.conftest import ALICE, TENANT, bearer
from tests.test_hostile_input import RESET, HostileClient, error_type
from tests.test_hostile_input import client as client  # the fixture, by name

CHANGE = f"/customer/{TENANT}/password/change"
RESET_UPDATE = f"/customer/{TENANT}/password/reset/update"
EMAIL_CHANGE = f"/customer/{TENANT}/me/accounts/internal/email/change"
EMAIL_CONFIRM = f"{EMAIL_CHANGE}/confirm"
SIGNUP = f"/customer/{TENANT}/signup"
LOGIN = f"/customer/{TENANT}/login"

# Every operation taking a body the credentials client sends: (path, customer token?, body).
BODY_OPERATIONS = {
    "request reset": (RESET, False, {"email": ALICE["email"]}),
    "reset": (RESET_UPDATE, False, {"token": "t0ken", "password": "new-pass-1"}),
    "change password": (CHANGE, True, {"currentPassword": ALICE["password"], "newPassword": "new-pass-1"}),
    "change email": (
        EMAIL_CHANGE,
        True,
        {"email": ALICE["email"], "password": ALICE["password"], "newEmail": "alice2@example.com"},
    ),
    "confirm email": (EMAIL_CONFIRM, False, {"token": "t0ken"}),
    "signup": (SIGNUP, False, {"email": "new@example.com", "password": "new-pass-1"}),
    "login": (LOGIN, False, {"email": ALICE["email"], "password": ALICE["password"]}),
}
# Every password field of every operation, as ErrorMessage.details names it.
PASSWORD_FIELDS = [
    ("change password", "currentPassword"),
    ("change password", "newPassword"),
    ("reset", "password"),
    ("change email", "password"),
    ("signup", "password"),
    ("login", "password"),
]


@pytest.fixture(scope="module", params=ENGINES)
def server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with LiveServer(Settings(engine=request.param)) as live:
        yield live


def operation_headers(client: HostileClient, customer: bool) -> dict[str, str]:
    if customer:
        return bearer(client.token(kind="customer", email=ALICE["email"]))
    return bearer(client.token())


def detail(response: Any) -> tuple[str, str]:
    (only,) = response.json()["details"]
    return only["field"], only["type"]


def raw_exchange(server: LiveServer, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """One request over a raw socket (headers exactly as written); the status, headers, body."""
    with socket.create_connection((server.host, server.port), timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, body


# A JSON body without a Content-Type ------------------------------------------------------------


@pytest.mark.parametrize("operation", BODY_OPERATIONS)
def test_json_body_without_content_type_is_400_naming_the_header(
    client: HostileClient, operation: str
) -> None:
    """What ``requests.post(url, data=json_text)`` sends: Spring refuses it (415, which the
    contract does not declare), so the mock answers 400 naming the header, never a 500."""
    path, customer, body = BODY_OPERATIONS[operation]

    response = client.send(
        "POST", path, content=json.dumps(body).encode(), headers=operation_headers(client, customer)
    )

    assert error_type(response, 400) == "bad_request"
    assert detail(response) == ("Content-Type", "missing_value")
    assert "application/json" in response.json()["message"]
    assert client.send("GET", "/_mock/outbox").json() == []


# Media types are case-insensitive ---------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "APPLICATION/JSON",
        "Application/Json; charset=utf-8",
        "application/JSON;Charset=UTF-8",
        "application/json ",
    ],
)
def test_uppercase_media_type_is_read_as_json(client: HostileClient, content_type: str) -> None:
    response = client.send(
        "POST",
        RESET,
        content=json.dumps({"email": ALICE["email"]}),
        headers={"Content-Type": content_type.strip(), **bearer(client.token())},
    )

    assert response.status_code == 204, response.text
    assert [email["to"] for email in client.send("GET", "/_mock/outbox").json()] == [ALICE["email"]]


@pytest.mark.parametrize("operation", ["change password", "signup", "login"])
def test_uppercase_media_type_reaches_every_handler_decoded(client: HostileClient, operation: str) -> None:
    path, customer, body = BODY_OPERATIONS[operation]

    response = client.send(
        "POST",
        path,
        content=json.dumps(body),
        headers={"Content-Type": "APPLICATION/JSON", **operation_headers(client, customer)},
    )

    assert response.status_code in (200, 201, 204), response.text


# Lone surrogates in passwords ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "field"), PASSWORD_FIELDS, ids=[f"{o}: {f}" for o, f in PASSWORD_FIELDS]
)
def test_lone_surrogate_in_password_is_400_naming_the_field(
    client: HostileClient, operation: str, field: str
) -> None:
    path, customer, body = BODY_OPERATIONS[operation]
    text = json.dumps(body).replace(json.dumps(body[field]), '"abc\\ud800defg"', 1)

    response = client.send(
        "POST",
        path,
        content=text,
        headers={"Content-Type": "application/json", **operation_headers(client, customer)},
    )

    assert error_type(response, 400) == "bad_request"
    assert detail(response) == (field, "invalid_value")
    assert "surrogate" in response.json()["message"]
    assert client.send("GET", "/_mock/outbox").json() == []


def test_lone_surrogate_in_a_nested_password_names_its_path(client: HostileClient) -> None:
    text = (
        '{"email": "x@example.com", "password": "p", '
        '"signup": {"email": "y@example.com", "password": "\\udfff"}}'
    )

    response = client.send(
        "POST", SIGNUP, content=text, headers={"Content-Type": "application/json", **bearer(client.token())}
    )

    assert detail(response) == ("signup.password", "invalid_value")


def test_lone_surrogate_pair_halves_in_order_are_one_character(client: HostileClient) -> None:
    """``\\ud83d\\ude00`` is a pair (😀), not two lone surrogates: a valid password."""
    customer = client.token(kind="customer", email=ALICE["email"])
    text = json.dumps({"currentPassword": ALICE["password"], "newPassword": "smile-\ud83d\ude00"})

    response = client.send(
        "POST", CHANGE, content=text, headers={"Content-Type": "application/json", **bearer(customer)}
    )

    assert response.status_code == 204, response.text


# Deeply nested JSON ------------------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [1_000, 30_000], ids=["1k levels", "30k levels"])
def test_deeply_nested_json_is_400_too_deep(client: HostileClient, levels: int) -> None:
    text = '{"email": ' + "[" * levels + "]" * levels + "}"

    response = client.send(
        "POST", RESET, content=text, headers={"Content-Type": "application/json", **bearer(client.token())}
    )

    assert error_type(response, 400) == "bad_request"
    assert detail(response) == ("body", "too_deep")
    assert str(DEFAULT_MAX_JSON_DEPTH) in response.json()["message"]


def test_deeply_nested_brackets_inside_a_string_are_only_text(client: HostileClient) -> None:
    response = client.send(
        "POST",
        RESET,
        content=json.dumps({"email": ALICE["email"], "site": "[{" * 5_000}),
        headers={"Content-Type": "application/json", **bearer(client.token())},
    )

    assert response.status_code == 204, response.text


# Byte order marks and declared charsets -----------------------------------------------------------


def test_utf8_bom_before_the_json_is_skipped(client: HostileClient) -> None:
    """Jackson, behind the real service, skips it."""
    body = b"\xef\xbb\xbf" + json.dumps({"email": ALICE["email"]}).encode()

    response = client.send(
        "POST", RESET, content=body, headers={"Content-Type": "application/json", **bearer(client.token())}
    )

    assert response.status_code == 204, response.text
    assert [email["to"] for email in client.send("GET", "/_mock/outbox").json()] == [ALICE["email"]]


@pytest.mark.parametrize(
    ("charset", "content_type"),
    [
        ("utf-16", "application/json; charset=UTF-16"),
        ("utf-16-le", "application/json; charset=utf-16le"),
        ("utf-32", "application/json;charset=utf-32"),
        ("latin-1", "application/json; charset=ISO-8859-1"),
        ("utf-8", 'application/json; charset="utf-8"'),
        ("utf-16", "application/json"),  # no charset: UTF-16 recognised from its byte order mark
    ],
    ids=["utf-16", "utf-16le", "utf-32", "iso-8859-1", "quoted utf-8", "utf-16 undeclared"],
)
def test_declared_charset_is_honoured(client: HostileClient, charset: str, content_type: str) -> None:
    customer = client.token(kind="customer", email=ALICE["email"])
    body = {"email": ALICE["email"], "password": ALICE["password"], "newEmail": "alïce@exämple.com"}

    response = client.send(
        "POST",
        EMAIL_CHANGE,
        content=json.dumps(body, ensure_ascii=False).encode(charset),
        headers={"Content-Type": content_type, **bearer(customer)},
    )

    assert response.status_code == 204, response.text
    assert [email["to"] for email in client.send("GET", "/_mock/outbox").json()] == ["alïce@exämple.com"]


@pytest.mark.parametrize("charset", ["koi8-r", "no-such-charset", "rot13", "base64"])
def test_declared_charset_unsupported_is_400_naming_it(client: HostileClient, charset: str) -> None:
    response = client.send(
        "POST",
        RESET,
        content=json.dumps({"email": ALICE["email"]}),
        headers={"Content-Type": f"application/json; charset={charset}", **bearer(client.token())},
    )

    assert error_type(response, 400) == "bad_request"
    assert detail(response) == ("Content-Type", "invalid_value")
    assert repr(charset) in response.json()["message"]
    assert client.send("GET", "/_mock/outbox").json() == []


def test_declared_charset_the_bytes_do_not_match_is_400(client: HostileClient) -> None:
    response = client.send(
        "POST",
        RESET,
        content=json.dumps({"email": "émile@example.com"}, ensure_ascii=False).encode("latin-1"),
        headers={"Content-Type": "application/json; charset=utf-8", **bearer(client.token())},
    )

    assert error_type(response, 400) == "bad_request"
    assert detail(response) == ("body", "invalid_format")
    assert "not valid utf-8" in response.json()["message"]


# Trailing slashes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"{RESET}/"),
        ("POST", f"{SIGNUP}/"),
        ("GET", f"/customer/{TENANT}/me/"),
        ("GET", "/customerlogin/auth/anonymous/login/"),
        ("GET", "/_mock/outbox/"),
        ("POST", "/_mock/tokens/"),
    ],
)
@pytest.mark.parametrize("authorised", [True, False], ids=["token", "no token"])
def test_trailing_slash_is_an_unknown_path_not_a_redirect(
    client: HostileClient, method: str, path: str, authorised: bool
) -> None:
    headers = bearer(client.token()) if authorised else {}
    unknown = client.send(method, f"/customer/{TENANT}/no-such-path", headers=headers)

    response = client.send(method, path, json={"email": ALICE["email"]}, headers=headers)

    assert response.status_code == 404, response.text
    assert "location" not in response.headers
    assert response.json() == unknown.json()
    assert client.send("GET", "/_mock/outbox").json() == []


def test_trailing_slash_docs_pages_are_still_served(client: HostileClient) -> None:
    response = client.http.get("/_mock/ui/")

    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]


# Whitespace around header values -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "content_type"),
    [
        ("Bearer {token}  ", "application/json"),
        ("Bearer {token}\t", "application/json \t"),
        ("Bearer {token}", "application/json   "),
        ("   Bearer {token} ", "  APPLICATION/JSON ; charset=UTF-8  "),
    ],
    ids=["authorization", "both tab", "content type", "leading and trailing"],
)
def test_header_trailing_whitespace_is_not_part_of_the_value(
    server: LiveServer, client: HostileClient, authorization: str, content_type: str
) -> None:
    """Over a raw socket: httpx refuses to send such headers, browsers and proxies do send them."""
    body = json.dumps({"email": ALICE["email"]}).encode()
    request = (
        f"POST {RESET} HTTP/1.1\r\nHost: {server.host}\r\nConnection: close\r\n"
        f"Authorization:{authorization.format(token=client.token())}\r\n"
        f"Content-Type:{content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body

    status, _, answer = raw_exchange(server, request)

    assert status == 204, answer
    assert [email["to"] for email in client.send("GET", "/_mock/outbox").json()] == [ALICE["email"]]


def test_header_trailing_whitespace_in_the_control_token_is_not_part_of_it(client_with: Any) -> None:
    token = "ctl-whitespace-test-token-0123456789"
    guarded = client_with(control_token=token)

    response = guarded.post(
        "/_mock/tokens",
        json={"tenant": TENANT, "kind": "anonymous"},
        headers={"X-Mock-Control-Token": f"{token} \t".encode()},
    )

    assert response.status_code == 201, response.text


# Chunked bodies -------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["signup", "login", "request reset"])
def test_chunked_body_is_read_like_any_other(client: HostileClient, operation: str) -> None:
    """No Content-Length (Transfer-Encoding: chunked), also where the contract requires a body."""
    path, customer, body = BODY_OPERATIONS[operation]
    text = json.dumps(body).encode()

    def chunks() -> Iterator[bytes]:
        yield from (text[index : index + 7] for index in range(0, len(text), 7))

    response = client.http.post(
        path,
        content=chunks(),
        headers={"Content-Type": "application/json", **operation_headers(client, customer)},
    )

    assert "content-length" not in response.request.headers
    assert response.status_code in (200, 201, 204), response.text


def test_chunked_empty_body_is_400_as_an_empty_one(client: HostileClient) -> None:
    def nothing() -> Iterator[bytes]:
        yield b""

    response = client.http.post(
        SIGNUP, content=nothing(), headers={"Content-Type": "application/json", **bearer(client.token())}
    )

    assert error_type(response, 400) == "validation_violation"
    assert response.json()["details"][0]["field"] == "body"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_non_ascii_content_type_is_ignored_or_refused_never_a_500(
    server: LiveServer, client: HostileClient, method: str
) -> None:
    """Latin-1 bytes in Content-Type: ignored where no body is read, 400 where one is."""
    path = "/_mock/outbox" if method == "GET" else RESET
    body = json.dumps({"email": ALICE["email"]}).encode()
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: {server.host}\r\nConnection: close\r\n"
        f"Authorization: Bearer {client.token()}\r\nContent-Length: {len(body)}\r\n"
    ).encode() + b"Content-Type: application/json\xe9\r\n\r\n" + body

    status, _, answer = raw_exchange(server, request)

    assert status == (200 if method == "GET" else 400), answer
    if method == "POST":
        assert json.loads(answer)["type"] == "bad_request"
