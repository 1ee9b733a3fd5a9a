"""Generated and mutated requests against every operation of the served documents (contract,
storefront endpoints, mock API), on both engines, over raw sockets to a live server.

The operations are read from the specs, so an operation added later is covered without
touching this file. For each one, hypothesis builds requests a client could send by mistake or
on purpose: bodies of random JSON built around the operation's own field names (lone
surrogates, NULs, byte order marks and huge numbers in every string and number, duplicate
keys, nesting far past the limit, truncation, random bytes), any content type in any casing or
charset, tokens of every kind or none, query parameters with hostile values, chunked bodies and
odd spacing around header values. Every answer must be below 500, declared for its operation
and shaped as the contract says; after the run the server still serves a whole reset flow.

Examples are derandomized (the same requests on every run) and bounded, so the file stays a
quick part of ``make test``.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from credmock.app import CONTRACT_SPEC, ENGINES, MOCK_API_SPEC, load_served_spec
from credmock.settings import Settings
from credmock.tools.contract import ContractChecker
from credmock.tools.testing import LiveServer
from tests.conftest import ALICE, TENANT
from tests.test_hostile_input import HostileClient

EXAMPLES_PER_OPERATION = 15
SENT_BODY_BYTES = 32 * 1024
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # the full path template, base path included
    path_parameters: tuple[str, ...]
    query_parameters: tuple[str, ...]
    field_names: tuple[str, ...]  # every property name of the request body's schema, nested too
    has_body: bool

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.template}"


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        for part in node["$ref"].removeprefix("#/").split("/"):
            spec = spec[part]
        node = spec
    return node


def _field_names(spec: dict[str, Any], schema: Any, seen: set[int] | None = None) -> set[str]:
    """Property names of a schema and of the schemas it contains."""
    seen = seen if seen is not None else set()
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict) or id(schema) in seen:
        return set()
    seen.add(id(schema))
    names = set(schema.get("properties", {}))
    children = [*schema.get("properties", {}).values(), schema.get("items"), *schema.get("allOf", [])]
    children += [*schema.get("oneOf", []), *schema.get("anyOf", [])]
    for child in children:
        names |= _field_names(spec, child, seen)
    return names


def served_operations() -> list[Operation]:
    operations = []
    for spec_name in (CONTRACT_SPEC, MOCK_API_SPEC):
        spec = load_served_spec(spec_name)
        base_path = urlsplit(spec["servers"][0]["url"]).path.rstrip("/")
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                if method not in HTTP_METHODS:
                    continue
                parameters = [
                    _resolve(spec, p) for p in [*item.get("parameters", []), *operation.get("parameters", [])]
                ]
                body = _resolve(spec, operation.get("requestBody"))
                schemas = [media.get("schema") for media in (body or {}).get("content", {}).values()]
                operations.append(
                    Operation(
                        method=method,
                        template=base_path + path,
                        path_parameters=tuple(re.findall(r"\{([^}]+)\}", path)),
                        query_parameters=tuple(p["name"] for p in parameters if p["in"] == "query"),
                        field_names=tuple(sorted(set().union(*(_field_names(spec, s) for s in schemas)))),
                        has_body=body is not None,
                    )
                )
    return operations


OPERATIONS = served_operations()

# Strings a client may send: ordinary, then the ones that broke servers before.
HOSTILE_STRINGS = [
    ALICE["email"],
    ALICE["password"],
    TENANT,
    "new-pass-1",
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "abc\udfffdef",
    "\ud83d\ude00",
    "\ufeff",
    "é",
    "用户@例子.广告",
    "x" * 300,
    "[[[[{{{{",
    '"\\',
]
texts = st.one_of(
    st.sampled_from(HOSTILE_STRINGS), st.text(st.characters(exclude_categories=()), max_size=12)
)
numbers = st.one_of(
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 2**63, 10**30, 10**400, 1e308]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)


def json_values(keys: tuple[str, ...]) -> st.SearchStrategy[Any]:
    names = st.sampled_from(keys) | texts if keys else texts
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(names, children, max_size=4),
        max_leaves=8,
    )


@st.composite
def body_bytes(draw: st.DrawFn, operation: Operation) -> bytes | None:
    """A body: JSON built on the operation's field names, serialised then mutated, or raw bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.none() | st.binary(max_size=64))
    keys = operation.field_names
    value = (
        draw(st.dictionaries(st.sampled_from(keys), json_values(keys), max_size=len(keys) + 1))
        if keys and draw(st.booleans())
        else draw(json_values(keys))
    )
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    mutation = draw(
        st.sampled_from(["none", "duplicate key", "huge number", "deep", "truncate", "NUL", "random bytes"])
    )
    if mutation == "duplicate key" and text.startswith("{") and keys:
        text = "{" + json.dumps(draw(st.sampled_from(keys))) + ': "first", ' + text[1:].lstrip(", ")
        text = text.replace(", }", "}")
    elif mutation == "huge number" and text.startswith("{"):
        digits = draw(st.sampled_from(["9" * 5000, "1e999999", "-1e400", "0." + "0" * 4000 + "1"]))
        text = '{"n": ' + digits + (", " + text[1:] if text != "{}" else "}")
    elif mutation == "deep":
        levels = draw(st.sampled_from([33, 1_000, 10_000]))  # under the size limit: all read
        text = "[" * levels + text + "]" * levels
    elif mutation == "truncate":
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    elif mutation == "NUL":
        position = draw(st.integers(0, len(text)))
        text = text[:position] + "\x00" + text[position:]
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-32-le", "latin-1"]))
    raw = text.encode(encoding, errors="surrogatepass" if encoding.startswith("utf") else "replace")
    if mutation == "random bytes":
        position = draw(st.integers(0, len(raw)))
        raw = raw[:position] + draw(st.binary(min_size=1, max_size=8)) + raw[position:]
    # Cut below the body limit: a server that answers before reading a larger body closes a
    # connection with unread bytes, and the kernel's reset can drop the answer on the client's side
    # (the limit itself is tested on its own).
    return raw[:SENT_BODY_BYTES]


content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "APPLICATION/JSON",
            "Application/Json; Charset=UTF-8",
            "application/json; charset=utf-16",
            "application/json;charset=utf-32le",
            'application/json; charset="iso-8859-1"',
            "application/json; charset=nope",
            "application/json; charset=",
            "application/merge-patch+json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "*/*",
            "",
            ";;",
            "application/",
            "/json",
        ]
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=30),
)
header_layouts = st.sampled_from(["plain", "no space", "spaces and tabs", "mixed case names"])
transfers = st.sampled_from(["content-length", "chunked"])


@st.composite
def requests_for(draw: st.DrawFn, operation: Operation) -> dict[str, Any]:
    path = operation.template
    for name in operation.path_parameters:
        value = draw(st.sampled_from([TENANT, TENANT, "acme"]) | st.text(min_size=1, max_size=12))
        path = path.replace("{" + name + "}", quote(value, safe="", errors="surrogatepass"))
    query: dict[str, str] = {}
    if operation.query_parameters:
        names = st.sampled_from(operation.query_parameters)
        query = draw(st.dictionaries(names, texts, max_size=3))
    target = path + ("?" + urlencode(query, encoding="utf-8", errors="surrogatepass") if query else "")
    return {
        "method": operation.method.upper(),
        "target": target,
        "token": draw(st.sampled_from(["none", "anonymous", "customer", "garbage", "other tenant"])),
        "body": draw(body_bytes(operation)) if operation.has_body or draw(st.integers(0, 4)) == 0 else None,
        "content_type": draw(content_types),
        "layout": draw(header_layouts),
        "transfer": draw(transfers),
    }


# The live servers and the raw exchange ---------------------------------------------------------------


@pytest.fixture(scope="module", params=ENGINES)
def server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with LiveServer(Settings(engine=request.param)) as live:
        yield live


def mint(http: httpx.Client, kind: str) -> str:
    if kind == "garbage":
        return "not-a-token"
    body: dict[str, Any] = {"tenant": "acme" if kind == "other tenant" else TENANT, "kind": "anonymous"}
    if kind == "customer":
        body |= {"kind": "customer", "email": ALICE["email"]}
    response = http.post("/_mock/tokens", json=body)
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


# How the message is framed is the HTTP server's to read (uvicorn refuses ambiguous framing in
# plain text before the app sees the request, a guard against request smuggling): these
# headers keep the usual spacing.
FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


def header_lines(headers: list[tuple[str, str]], layout: str) -> bytes:
    lines = []
    for name, value in headers:
        if name.lower() in FRAMING_HEADERS:
            line = f"{name}: {value}"
        elif layout == "no space":
            line = f"{name}:{value}"
        elif layout == "spaces and tabs":
            line = f"{name}: \t {value} \t "
        elif layout == "mixed case names":
            line = f"{name.upper() if len(name) % 2 else name.lower()}:  {value}"
        else:
            line = f"{name}: {value}"
        lines.append(line.encode("latin-1") + b"\r\n")
    return b"".join(lines)


def dechunk(body: bytes) -> bytes:
    decoded = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        decoded, body = decoded + body[:size], body[size + 2 :]
    return decoded


def exchange(
    server: LiveServer, request: dict[str, Any], token: str | None
) -> tuple[int, dict[str, str], bytes]:
    """Send the request exactly as generated over a fresh connection; the status, headers, body."""
    headers = [("Host", f"{server.host}:{server.port}"), ("Connection", "close")]
    if token is not None:
        headers.append(("Authorization", f"Bearer {token}"))
    if request["content_type"] is not None:
        headers.append(("Content-Type", request["content_type"]))
    body: bytes | None = request["body"]
    payload = b""
    if body is not None and request["transfer"] == "chunked":
        headers.append(("Transfer-Encoding", "chunked"))
        pieces = [body[index : index + 7] for index in range(0, len(body), 7)]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    elif body is not None:
        headers.append(("Content-Length", str(len(body))))
        payload = body
    head = f"{request['method']} {request['target']} HTTP/1.1\r\n".encode()
    with socket.create_connection((server.host, server.port), timeout=60) as connection:
        connection.sendall(head + header_lines(headers, request["layout"]) + b"\r\n" + payload)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    assert received, "the server closed the connection without an answer"
    response_head, _, response_body = received.partition(b"\r\n\r\n")
    status_line, *lines = response_head.decode("latin-1").split("\r\n")
    response_headers = {
        name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)
    }
    if response_headers.get("transfer-encoding") == "chunked":
        response_body = dechunk(response_body)
    return int(status_line.split()[1]), response_headers, response_body


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_every_operation_answers_generated_and_mutated_requests_inside_the_contract(
    server: LiveServer, checkers: list[ContractChecker], operation: Operation
) -> None:
    with httpx.Client(base_url=server.base_url, timeout=60) as http:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(request=requests_for(operation))
        def answers_inside_the_contract(request: dict[str, Any]) -> None:
            note(ascii(request))  # printable whatever the bytes: shown when the example fails
            # Each example from a fresh state: the same answers whatever ran before, and no fault
            # an earlier example injected through the mock API (its answers are the user's).
            server.app.reset()
            token = None if request["token"] == "none" else mint(http, request["token"])
            status, headers, body = exchange(server, request, token)

            assert status < 500, (status, body)
            checker = next(
                checker for checker in checkers if checker.describes(request["method"], request["target"])
            )
            violations = checker.check_response(
                method=request["method"],
                url=request["target"],
                request_headers={},
                request_body=request["body"],
                status=status,
                response_headers=headers,
                response_body=body,
            )
            assert not violations, (status, body, violations)

        answers_inside_the_contract()
        HostileClient(http, checkers).assert_still_serving()
