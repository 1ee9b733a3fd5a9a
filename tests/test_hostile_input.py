"""Hostile and malformed requests against a live server: each answer is contract-shaped (checked
with ContractChecker as well), never a 500, and the server keeps serving afterwards."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from credmock.app import ENGINES
from credmock.http import request_drain
from credmock.settings import DEFAULT_MAX_BODY_BYTES, Settings
from credmock.tools.contract import ContractChecker
from credmock.tools.testing import LiveServer
from tests.conftest import ALICE, BOB, DAVE_OF_ACME, TENANT, bearer

RESET = f"/customer/{TENANT}/password/reset"
RESET_UPDATE = f"/customer/{TENANT}/password/reset/update"
EMAIL_CHANGE = f"/customer/{TENANT}/me/accounts/internal/email/change"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module", params=ENGINES)
def server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with LiveServer(Settings(engine=request.param)) as live:
        yield live


class HostileClient:
    """An HTTP client of the live server whose every answer must match the document describing
    it; after the test it checks that the server still serves a whole reset request."""

    def __init__(self, http: httpx.Client, checkers: list[ContractChecker]) -> None:
        self.http = http
        self.checkers = checkers

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, url, **kwargs)
        assert response.status_code < 500, response.text
        for checker in self.checkers:
            if checker.describes(method, url):
                assert not checker.check_httpx(response), (response.status_code, response.text)
        return response

    def token(self, tenant: str = TENANT, **body: Any) -> str:
        response = self.send("POST", "/_mock/tokens", json={"tenant": tenant, "kind": "anonymous", **body})
        assert response.status_code == 201, response.text
        return response.json()["access_token"]

    def assert_still_serving(self) -> None:
        sent_before = len(self.send("GET", "/_mock/outbox").json())
        response = self.send("POST", RESET, json={"email": BOB["email"]}, headers=bearer(self.token()))
        assert response.status_code == 204, response.text
        assert len(self.send("GET", "/_mock/outbox").json()) == sent_before + 1


@pytest.fixture
def client(server: LiveServer, checkers: list[ContractChecker]) -> Iterator[HostileClient]:
    server.app.reset()
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        hostile = HostileClient(http, checkers)
        yield hostile
        hostile.assert_still_serving()


def error_type(response: httpx.Response, status: int) -> str:
    """The ``type`` of a contract ErrorMessage with this status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert body["message"]
    return body["type"]


def assert_fault(response: httpx.Response, faultstring: str = "Invalid access token") -> None:
    assert response.status_code == 401, response.text
    assert response.json()["fault"]["faultstring"] == faultstring


@pytest.mark.parametrize(
    "content",
    [b'{"email": ', b"{'email': 'a@b.c'}", b'{"email": "a@b.c"}}', b"\xff\xfe{}", b'{"email": NaN}'],
    ids=["truncated", "single quotes", "trailing brace", "not utf-8", "nan"],
)
def test_request_reset_password_malformed_json_is_400(client: HostileClient, content: bytes) -> None:
    response = client.send("POST", RESET, content=content, headers={**JSON, **bearer(client.token())})

    assert error_type(response, 400) == "bad_request"


@pytest.mark.parametrize("body", [[ALICE["email"]], "alice@example.com", 42, True], ids=str)
def test_request_reset_password_json_not_an_object_is_400(client: HostileClient, body: Any) -> None:
    response = client.send("POST", RESET, json=body, headers=bearer(client.token()))

    assert error_type(response, 400) == "validation_violation"
    assert client.send("GET", "/_mock/outbox").json() == []


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data"],
)
def test_request_reset_password_wrong_content_type_is_400(client: HostileClient, content_type: str) -> None:
    response = client.send(
        "POST",
        RESET,
        content=json.dumps({"email": ALICE["email"]}),
        headers={"Content-Type": content_type, **bearer(client.token())},
    )

    assert error_type(response, 400) == "bad_request"
    assert "content type" in response.json()["message"].lower()


@pytest.mark.parametrize("content", [b"", b"   \n"], ids=["empty", "whitespace"])
def test_reset_password_empty_body_is_400(client: HostileClient, content: bytes) -> None:
    response = client.send("POST", RESET_UPDATE, content=content, headers={**JSON, **bearer(client.token())})

    assert error_type(response, 400) == "validation_violation"
    assert response.json()["details"][0]["field"] == "body"


def test_request_reset_password_one_megabyte_body_is_400(client: HostileClient) -> None:
    body = json.dumps({"email": ALICE["email"], "site": "x" * 1_000_000})

    response = client.send("POST", RESET, content=body, headers={**JSON, **bearer(client.token())})

    assert error_type(response, 400) == "bad_request"
    assert response.json()["details"] == [
        {"field": "body", "type": "too_large", "message": response.json()["message"]}
    ]
    assert str(DEFAULT_MAX_BODY_BYTES) in response.json()["message"]
    assert client.send("GET", "/_mock/outbox").json() == []


def test_request_reset_password_chunked_body_over_the_limit_is_400(client: HostileClient) -> None:
    """No Content-Length: the limit is counted as the chunks arrive."""

    def chunks() -> Iterator[bytes]:
        yield b'{"email": "alice@example.com", "site": "'
        for _ in range(100):
            yield b"x" * 10_000
        yield b'"}'

    # Straight to the server: the contract check would need the request body, long sent.
    response = client.http.post(RESET, content=chunks(), headers={**JSON, **bearer(client.token())})

    assert "content-length" not in response.request.headers
    assert error_type(response, 400) == "bad_request"
    assert response.json()["details"][0]["type"] == "too_large"


@pytest.mark.parametrize(
    "email",
    ["émile@exämple.com", "用户@例子.广告", "a" * 300 + "@example.com", "x@" + "y" * 20_000 + ".com"],
    ids=["accents", "cjk", "long local part", "20k domain"],
)
def test_request_reset_password_unicode_or_very_long_unknown_email_sends_nothing(
    client: HostileClient, email: str
) -> None:
    response = client.send("POST", RESET, json={"email": email}, headers=bearer(client.token()))

    assert response.status_code == 204  # as for any unknown email: no hint whether it exists
    assert client.send("GET", "/_mock/outbox").json() == []


@pytest.mark.parametrize(
    "new_email",
    ["a" * 300 + "@example.com", "x@" + "y" * 20_000 + ".com", "no-at-sign", "two@@example.com"],
    ids=["long local part", "20k domain", "no at sign", "two at signs"],
)
def test_change_customer_login_email_invalid_or_very_long_new_email_is_400(
    client: HostileClient, new_email: str
) -> None:
    customer = client.token(kind="customer", email=ALICE["email"])

    response = client.send(
        "POST",
        EMAIL_CHANGE,
        json={"email": ALICE["email"], "password": ALICE["password"], "newEmail": new_email},
        headers=bearer(customer),
    )

    assert error_type(response, 400) == "validation_violation"
    assert response.json()["details"][0]["field"] == "newEmail"


def test_change_customer_login_email_unicode_new_email_is_accepted(client: HostileClient) -> None:
    customer = client.token(kind="customer", email=ALICE["email"])

    response = client.send(
        "POST",
        EMAIL_CHANGE,
        json={"email": ALICE["email"], "password": ALICE["password"], "newEmail": "alïce@exämple.com"},
        headers=bearer(customer),
    )

    assert response.status_code == 204, response.text
    assert [email["to"] for email in client.send("GET", "/_mock/outbox").json()] == ["alïce@exämple.com"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"token": 12345, "password": "new-pass-1"}, "token"),
        ({"token": "abc", "password": ["new-pass-1"]}, "password"),
        ({"token": {"value": "abc"}, "password": "new-pass-1"}, "token"),
        ({"token": "abc", "password": 3.5}, "password"),
    ],
    ids=["int token", "list password", "object token", "float password"],
)
def test_reset_password_fields_of_the_wrong_type_are_400(
    client: HostileClient, body: dict[str, Any], field: str
) -> None:
    response = client.send("POST", RESET_UPDATE, json=body, headers=bearer(client.token()))

    assert error_type(response, 400) == "validation_violation"
    assert [(detail["field"], detail["type"]) for detail in response.json()["details"]] == [
        (field, "invalid_type")
    ]


@pytest.mark.parametrize(
    ("path", "body", "field", "kind"),
    [
        (RESET, {"email": None}, "email", "anonymous"),
        (RESET_UPDATE, {"token": None, "password": "new-pass-1"}, "token", "anonymous"),
        (
            f"/customer/{TENANT}/password/change",
            {"currentPassword": ALICE["password"], "newPassword": None},
            "newPassword",
            "customer",
        ),
    ],
    ids=["reset email", "reset token", "change new password"],
)
def test_credential_operations_null_fields_are_400(
    client: HostileClient, path: str, body: dict[str, Any], field: str, kind: str
) -> None:
    token = client.token(kind=kind, email=ALICE["email"]) if kind == "customer" else client.token()

    response = client.send("POST", path, json=body, headers=bearer(token))

    assert error_type(response, 400) == "validation_violation"
    assert field in {detail["field"] for detail in response.json()["details"]}


MALFORMED_TENANTS = {
    "capital": "Demo",
    "upper": "DEMO",
    "dot": "de.mo",
    "dots": "demo..",
    "100 chars": "d" * 100,
    "unicode space": "dé mo",
    "slash": "de%2Fmo",
    "lowercase slash": "de%2fmo",
    "traversal": "demo%2F..%2Facme",
    "newline": "de%0Amo",
    "carriage return": "demo%0D",
    "nul": "de%00mo",
}


@pytest.mark.parametrize("tenant", MALFORMED_TENANTS.values(), ids=MALFORMED_TENANTS.keys())
def test_request_reset_password_malformed_tenant_is_400(client: HostileClient, tenant: str) -> None:
    """An encoded slash or control character is data inside the segment (RFC 3986): a malformed
    tenant, not another path."""
    response = client.send(
        "POST",
        f"/customer/{tenant}/password/reset",
        json={"email": ALICE["email"]},
        headers=bearer(client.token()),
    )

    assert error_type(response, 400) == "bad_request"
    assert "tenant" in response.json()["message"]
    assert client.send("GET", "/_mock/outbox").json() == []


def test_request_reset_password_malformed_tenant_without_token_is_401(client: HostileClient) -> None:
    response = client.send("POST", "/customer/De.Mo/password/reset", json={"email": ALICE["email"]})

    assert_fault(response)


@pytest.mark.parametrize(
    "path", ["//customer/demo/password/reset", "/customer/demo//password/reset"], ids=["leading", "inner"]
)
def test_request_reset_password_doubled_slashes_are_merged(client: HostileClient, path: str) -> None:
    """As nginx does by default: the path means the same resource."""
    url = f"{client.http.base_url}{path}"  # absolute: httpx would read a relative //customer as a host
    response = client.send("POST", url, json={"email": ALICE["email"]}, headers=bearer(client.token()))

    assert response.status_code == 204, response.text
    assert [email["to"] for email in client.send("GET", "/_mock/outbox").json()] == [ALICE["email"]]


def test_request_reset_password_empty_tenant_is_404(client: HostileClient) -> None:
    """Merged, the path is /customer/password/reset, which no operation serves. (Straight to the
    server: openapi-core would read the empty segment as a tenant of the contract's path.)"""
    response = client.http.post(
        "/customer//password/reset", json={"email": ALICE["email"]}, headers=bearer(client.token())
    )

    assert error_type(response, 404) == "resource_not_found"


def test_request_reset_password_tenant_with_plain_slash_is_404(client: HostileClient) -> None:
    """A plain slash makes another path, which no operation serves: 404 in the ErrorMessage shape."""
    response = client.send(
        "POST",
        "/customer/de/mo/password/reset",
        json={"email": ALICE["email"]},
        headers=bearer(client.token()),
    )

    assert error_type(response, 404) == "resource_not_found"
    assert client.send("GET", "/_mock/outbox").json() == []


@pytest.mark.parametrize("size", [16 * 1024, 60 * 1024], ids=["16 KB", "60 KB"])
def test_request_reset_password_huge_authorization_header_is_401(client: HostileClient, size: int) -> None:
    response = client.send("POST", RESET, json={"email": ALICE["email"]}, headers=bearer("x" * size))

    assert_fault(response)


def test_request_reset_password_authorization_past_the_head_bound_is_431(client: HostileClient) -> None:
    # Refused by the server before any operation (docs/hardening.md, "Request heads"): a status
    # no operation declares, in the mock's error shape.
    response = client.http.post(RESET, json={"email": ALICE["email"]}, headers=bearer("x" * 256 * 1024))

    assert response.status_code == 431
    assert response.json()["type"] == "request_header_fields_too_large"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Token abc", "Basic YWxpY2U6cGFzcw==", "bearer\ttoken", "Bearer a b c", "Négociez"],
    ids=["no token", "other scheme", "basic", "tab", "spaces", "latin-1"],
)
def test_request_reset_password_malformed_authorization_is_401(
    client: HostileClient, authorization: str
) -> None:
    response = client.send(
        "POST",
        RESET,
        json={"email": ALICE["email"]},
        headers={"Authorization": authorization.encode("latin-1")},
    )

    assert_fault(response)


def test_request_reset_password_token_of_another_tenant_is_403(client: HostileClient) -> None:
    acme_token = client.token(tenant="acme")

    response = client.send("POST", RESET, json={"email": ALICE["email"]}, headers=bearer(acme_token))

    assert error_type(response, 403) == "forbidden"
    assert client.send("GET", "/_mock/outbox").json() == []


def test_change_account_password_customer_token_of_another_tenant_is_403(client: HostileClient) -> None:
    dave = client.token(tenant="acme", kind="customer", email=DAVE_OF_ACME["email"])

    response = client.send(
        "POST",
        f"/customer/{TENANT}/password/change",
        json={"currentPassword": DAVE_OF_ACME["password"], "newPassword": "taken-over-1"},
        headers=bearer(dave),
    )

    assert error_type(response, 403) == "forbidden"


def test_reset_password_replayed_email_token_is_400(client: HostileClient) -> None:
    anonymous = client.token()
    client.send("POST", RESET, json={"email": ALICE["email"]}, headers=bearer(anonymous))
    reset_token = client.send("GET", "/_mock/outbox/latest").json()["token"]
    first = client.send(
        "POST",
        RESET_UPDATE,
        json={"token": reset_token, "password": "first-new-1"},
        headers=bearer(anonymous),
    )

    replayed = client.send(
        "POST",
        RESET_UPDATE,
        json={"token": reset_token, "password": "second-new-2"},
        headers=bearer(anonymous),
    )

    assert first.status_code == 204
    assert error_type(replayed, 400) == "invalid_token"


def test_confirm_customer_login_email_replayed_email_token_is_400(client: HostileClient) -> None:
    customer = client.token(kind="customer", email=ALICE["email"])
    client.send(
        "POST",
        EMAIL_CHANGE,
        json={"email": ALICE["email"], "password": ALICE["password"], "newEmail": "alice.two@example.com"},
        headers=bearer(customer),
    )
    confirm_token = client.send("GET", "/_mock/outbox/latest").json()["token"]
    anonymous = client.token()
    confirm = f"{EMAIL_CHANGE}/confirm"
    first = client.send("POST", confirm, json={"token": confirm_token}, headers=bearer(anonymous))

    replayed = client.send("POST", confirm, json={"token": confirm_token}, headers=bearer(anonymous))

    assert first.status_code == 204
    assert error_type(replayed, 400) == "invalid_token"


def test_mock_api_huge_clock_advance_is_400(client: HostileClient) -> None:
    response = client.send("POST", "/_mock/clock", json={"advanceSeconds": 1e300})

    assert error_type(response, 400) == "validation_violation"
    assert client.send("GET", "/_mock/clock").json()["offsetSeconds"] == 0


@pytest.mark.parametrize("expires_in", [10**400, 10**20], ids=["beyond a float", "beyond year 9999"])
def test_mock_api_token_lifetime_out_of_range_is_400(client: HostileClient, expires_in: int) -> None:
    body = f'{{"tenant": "{TENANT}", "kind": "anonymous", "expiresIn": {expires_in}}}'

    response = client.send("POST", "/_mock/tokens", content=body, headers=JSON)

    assert error_type(response, 400) == "validation_violation"
    assert response.json()["details"][0]["field"] == "expiresIn"


def test_server_garbage_http_request_is_refused_and_serving_continues(
    server: LiveServer, client: HostileClient
) -> None:
    """Bytes that are not HTTP never reach the app: uvicorn answers 400 itself and closes."""
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        raw.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        answer = raw.recv(4096)

    assert answer.startswith(b"HTTP/1.1 400 ")


def _closing_request_head(server: LiveServer, body_length: int, *extra_headers: str) -> bytes:
    """A reset request with a token the mock never issued, asking the server to close after it."""
    lines = [
        f"POST {RESET} HTTP/1.1",
        f"Host: {server.host}:{server.port}",
        "Connection: close",
        "Authorization: Bearer never-issued",
        "Content-Type: application/json",
        f"Content-Length: {body_length}",
        *extra_headers,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_until_closed(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def test_request_reset_password_unknown_token_answer_reaches_a_client_still_sending_its_body(
    server: LiveServer, client: HostileClient
) -> None:
    """The 401 is ready after the headers, while the body is still on its way. Closing then, with
    the body unread, would reset the connection: the client would see a reset or a broken pipe
    instead of the 401. The server reads the rest of the body first."""
    body = json.dumps({"email": ALICE["email"], "site": "x" * 30_000}).encode()

    with socket.create_connection((server.host, server.port), timeout=30) as raw:
        raw.sendall(_closing_request_head(server, len(body)))
        for start in range(0, len(body), 3_000):  # as a slow uplink delivers it
            time.sleep(0.001)
            raw.sendall(body[start : start + 3_000])
        answer = _read_until_closed(raw)

    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert json.loads(payload)["fault"]["detail"]["errorcode"] == "oauth.v2.InvalidAccessToken"


def test_request_reset_password_unknown_token_with_expect_continue_is_answered_without_the_body(
    server: LiveServer, client: HostileClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client sending ``Expect: 100-continue`` waits before sending its body; once the answer is
    known it sends nothing, so the server must not wait for a body (here: for ever)."""
    monkeypatch.setattr(request_drain, "DRAIN_TIMEOUT_SECONDS", 3600.0)

    with socket.create_connection((server.host, server.port), timeout=30) as raw:
        raw.sendall(_closing_request_head(server, 30_000, "Expect: 100-continue"))
        answer = _read_until_closed(raw)

    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
