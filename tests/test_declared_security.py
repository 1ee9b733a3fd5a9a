"""Each operation accepts the tokens its security declares and refuses every other, on every
engine, with a status it declares: every (operation, token kind) pair of the contract and the
storefront specs, the operations read from the specs (an operation added later is covered).

Token kinds: none, anonymous, customer, a token of another tenant, an expired token. A refusal
is 403 ``ErrorMessage`` where the operation declares 403, else 401 in Apigee's ``fault`` shape;
every answer's status is also one Emporix's reference declares (``tests/reference.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from credmock.app import CONTRACT_SPEC, STOREFRONT_SPEC, create_app, load_spec
from credmock.core.models import ANONYMOUS, CUSTOMER
from credmock.http.security import ANONYMOUS_SCHEME, CUSTOMER_SCHEME
from credmock.settings import Settings
from tests.conftest import ALICE, EXPIRED_TOKEN_FAULT, INVALID_TOKEN_FAULT, ContractClient, bearer
from tests.reference import reference_operation

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
TOKEN_KINDS = ("none", "anonymous", "customer", "other tenant", "expired")
SCHEME_KINDS = {ANONYMOUS_SCHEME: ANONYMOUS, CUSTOMER_SCHEME: CUSTOMER}
# (engine, compiled operations)
ENGINES = {"async-compiled": ("async", True), "async": ("async", False), "flask": ("flask", True)}
# Values of required parameters; any other is "x".
PARAMETER_VALUES = {"tenant": "demo", "addressId": "0000000000", "tags": "BILLING", "client_id": "shop"}
# Bodies a request with an accepted token is answered on its merits with (a login with real
# credentials, so its 401 is never mistaken for a refused token); other bodies: required strings.
BODIES = {"POST-customer-authenticate-customer": {"email": ALICE["email"], "password": ALICE["password"]}}


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    template: str
    accepted_kinds: frozenset[str]  # the token kinds its security schemes accept; empty: open
    secured: bool
    declared: frozenset[int]
    query: tuple[str, ...]  # required query parameters
    body: dict[str, Any] | None

    def __str__(self) -> str:
        return self.operation_id


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        for part in node["$ref"].removeprefix("#/").split("/"):
            spec = spec[part]
        node = spec
    return node


def _minimal_body(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    request_body = _resolve(spec, operation.get("requestBody"))
    if not request_body:
        return None
    schema = _resolve(spec, request_body["content"]["application/json"]["schema"])
    if "allOf" in schema:
        schema = _resolve(spec, schema["allOf"][0])
    return {name: "x" for name in schema.get("required", [])}


def declared_operations() -> Iterator[Operation]:
    for name in (CONTRACT_SPEC, STOREFRONT_SPEC):
        spec = load_spec(name)
        for template, item in spec["paths"].items():
            shared = [_resolve(spec, parameter) for parameter in item.get("parameters", [])]
            for method, operation in item.items():
                if method not in HTTP_METHODS:
                    continue
                security = operation.get("security", spec.get("security", []))
                schemes = {scheme for requirement in security for scheme in requirement}
                parameters = shared + [_resolve(spec, p) for p in operation.get("parameters", [])]
                operation_id = operation["operationId"]
                yield Operation(
                    operation_id=operation_id,
                    method=method.upper(),
                    template=template,
                    accepted_kinds=frozenset(SCHEME_KINDS[scheme] for scheme in schemes),
                    secured=bool(schemes),
                    declared=frozenset(int(status) for status in operation["responses"]),
                    query=tuple(p["name"] for p in parameters if p["in"] == "query" and p.get("required")),
                    body=BODIES.get(operation_id, _minimal_body(spec, operation)),
                )


OPERATIONS = list(declared_operations())


@pytest.fixture(scope="module", params=list(ENGINES))
def engine_client(request, checkers) -> ContractClient:
    """One app per engine for the whole matrix: each case mints its own tokens."""
    engine, compiled = ENGINES[request.param]
    settings = Settings(validate_responses=True, seed=1234, engine=engine)
    return ContractClient(create_app(settings, compile_operations=compiled), checkers)


_emails = itertools.count(1)


def token_of(client: ContractClient, operation: Operation, kind: str) -> str | None:
    """A token of ``kind`` for a request to tenant demo."""
    preferred = CUSTOMER if CUSTOMER in operation.accepted_kinds else ANONYMOUS
    if kind == "none":
        return None
    if kind == "anonymous":
        return client.anonymous_token()
    if kind == "customer":
        return client.customer_token()
    if kind == "other tenant":  # of a kind the operation accepts, of tenant acme
        if preferred == CUSTOMER:
            return client.customer_token("dave@acme.example", tenant="acme")
        return client.anonymous_token("acme")
    email = {"email": ALICE["email"]} if preferred == CUSTOMER else {}
    response = client.post(
        "/_mock/tokens", json={"tenant": "demo", "kind": preferred, "expiresIn": 1, **email}
    )
    assert response.status_code == 201, response.text
    client.advance_clock(2)
    return response.json()["access_token"]


def send(client: ContractClient, operation: Operation, token: str | None) -> httpx.Response:
    path = operation.template
    for name, value in PARAMETER_VALUES.items():
        path = path.replace("{" + name + "}", value)
    path = path.replace("{", "").replace("}", "")  # any other path parameter: its name as value
    query = {name: PARAMETER_VALUES.get(name, token or "x") for name in operation.query}
    if operation.operation_id == "GET-customer-refresh-authtoken":
        query["refreshToken"] = "x"  # never the token itself: a refresh token is another string
    body = operation.body
    if operation.operation_id == "POST-customer-create-customer-account":
        body = {"email": f"new{next(_emails)}@example.com", "password": "new-pass-1"}
    return client.request(
        operation.method,
        path,
        params=query,
        json=body,
        headers=bearer(token) if token is not None else {},
    )


def is_token_refusal(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return response.json() in (INVALID_TOKEN_FAULT, EXPIRED_TOKEN_FAULT)
    if response.status_code == 403:
        return response.json()["type"] == "forbidden" and "scope" not in response.json()["message"]
    return False


@pytest.mark.parametrize("kind", TOKEN_KINDS)
@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_each_operation_accepts_its_declared_token_kinds_and_refuses_the_others(
    engine_client: ContractClient, operation: Operation, kind: str
) -> None:
    response = send(engine_client, operation, token_of(engine_client, operation, kind))
    assert response.status_code in operation.declared, response.text
    accepted = not operation.secured or kind in operation.accepted_kinds
    if accepted:
        assert not is_token_refusal(response), f"{kind} token refused: {response.text}"
        return
    if kind == "expired":
        assert (response.status_code, response.json()) == (401, EXPIRED_TOKEN_FAULT)
    elif kind == "none":
        assert (response.status_code, response.json()) == (401, INVALID_TOKEN_FAULT)
    elif 403 in operation.declared:
        assert response.status_code == 403, response.text
        assert response.json()["type"] == "forbidden"
    else:
        assert (response.status_code, response.json()) == (401, INVALID_TOKEN_FAULT)


def test_the_matrix_covers_the_reference_operations_credmock_serves() -> None:
    """A reference operation missing from the specs would escape the matrix."""
    served = {(operation.method, operation.template) for operation in OPERATIONS}
    covered = {
        (operation.method, reference_operation(operation.method, operation.template)[0])
        for operation in OPERATIONS
        if reference_operation(operation.method, operation.template) is not None
    }
    assert len(served) == len(OPERATIONS) >= 23
    assert len(covered) >= 21


def test_anonymous_only_operations_are_the_declared_ones() -> None:
    anonymous_only = {op.operation_id for op in OPERATIONS if op.accepted_kinds == {ANONYMOUS}}
    assert {
        "POST-customer-create-customer-account",
        "POST-customer-authenticate-customer",
        "GET-customer-refresh-authtoken",
        "POST-customer-request-reset-password",
        "POST-customer-reset-password",
        "POST-customer-confirm-customer-login-email",
    } <= anonymous_only


# What a customer token on an anonymous-only operation used to do --------------------------------


def test_customer_token_cannot_reset_a_password_and_the_reset_token_stays_usable(client) -> None:
    anonymous = bearer(client.anonymous_token())
    assert (
        client.post(
            "/customer/demo/password/reset", json={"email": ALICE["email"]}, headers=anonymous
        ).status_code
        == 204
    )
    reset = {"token": client.latest_email(to=ALICE["email"])["token"], "password": "Another-pass-9"}
    refused = client.post(
        "/customer/demo/password/reset/update", json=reset, headers=bearer(client.customer_token())
    )
    assert refused.status_code == 403
    assert client.can_log_in(ALICE["email"], ALICE["password"])
    assert (
        client.post("/customer/demo/password/reset/update", json=reset, headers=anonymous).status_code == 204
    )
    assert client.can_log_in(ALICE["email"], "Another-pass-9")


def test_customer_token_cannot_confirm_a_login_email_change(client) -> None:
    customer = bearer(client.customer_token())
    change = {"email": ALICE["email"], "password": ALICE["password"], "newEmail": "alice.new@example.com"}
    response = client.post("/customer/demo/me/accounts/internal/email/change", json=change, headers=customer)
    assert response.status_code == 204
    confirm = {"token": client.latest_email(to="alice.new@example.com")["token"]}
    path = "/customer/demo/me/accounts/internal/email/change/confirm"
    assert client.post(path, json=confirm, headers=customer).status_code == 403
    assert client.can_log_in(ALICE["email"], ALICE["password"])
    assert client.post(path, json=confirm, headers=bearer(client.anonymous_token())).status_code == 204
    assert client.can_log_in("alice.new@example.com", ALICE["password"])
