"""The compiled operations answer exactly as Connexion's own middleware does.

The async engine answers the operations it can compile from objects built once per operation
(``credmock.http.compiled``); ``create_app(compile_operations=False)`` leaves every request to
Connexion's middleware. The same requests, sent to one app of each kind, must get the same
status, content type and body: valid and invalid tokens, parameters, bodies, content types.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from connexion.json_schema import Draft4RequestValidator
from credmock.handlers import credentials
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from credmock.app import create_app
from credmock.http.compiled import CompiledOperationsMiddleware
from credmock.settings import Settings
from tests.conftest import ALICE, TENANT

RESET = f"/customer/{TENANT}/password/reset"
CHANGE = f"/customer/{TENANT}/password/change"
JSON = {"Content-Type": "application/json"}
ANONYMOUS = {"Authorization": "Bearer {anonymous}"}
CUSTOMER = {"Authorization": "Bearer {customer}"}
# Response fields the two apps draw at random.
RANDOM_FIELDS = {"access_token", "refresh_token", "session_id", "saas_token", "saasToken", "accessToken",
                 "refreshToken", "now", "id"}  # fmt: skip

# (name, method, path, headers, body as bytes or JSON); {anonymous} and {customer} are tokens.
EXCHANGES: list[tuple[str, str, str, dict[str, str], Any]] = [
    ("reset-known-email", "POST", RESET, ANONYMOUS, {"email": ALICE["email"]}),
    (
        "reset-unknown-email",
        "POST",
        RESET,
        ANONYMOUS,
        {"email": "no@example.com"},
    ),
    (
        "reset-customer-token",
        "POST",
        RESET,
        CUSTOMER,
        {"email": "a@example.com"},
    ),
    ("no-authorization", "POST", RESET, {}, {"email": ALICE["email"]}),
    ("bearer-alone", "POST", RESET, {"Authorization": "Bearer"}, {"email": ALICE["email"]}),
    ("basic", "POST", RESET, {"Authorization": "Basic eDp5"}, {"email": ALICE["email"]}),
    ("lower-case-bearer", "POST", RESET, {"Authorization": "bearer {anonymous}"}, {"email": "b@example.com"}),
    ("unknown-token", "POST", RESET, {"Authorization": "Bearer nope"}, {"email": ALICE["email"]}),
    (
        "other-tenant",
        "POST",
        "/customer/acme/password/reset",
        ANONYMOUS,
        {"email": ALICE["email"]},
    ),
    (
        "malformed-tenant",
        "POST",
        "/customer/de%20mo/password/reset",
        ANONYMOUS,
        {"email": ALICE["email"]},
    ),
    (
        "encoded-slash-tenant",
        "POST",
        "/customer/de%2Fmo/password/reset",
        ANONYMOUS,
        {"email": ALICE["email"]},
    ),
    ("doubled-slash", "POST", "//customer//demo/password/reset", ANONYMOUS, {"email": "d@example.com"}),
    ("trailing-slash", "POST", f"{RESET}/", ANONYMOUS, {"email": ALICE["email"]}),
    ("get-on-post-path", "GET", RESET, ANONYMOUS, None),
    ("head-health", "HEAD", "/_mock/health", {}, None),
    (
        "reset-from-a-page",
        "POST",
        RESET,
        {**ANONYMOUS, "Origin": "http://localhost:3000"},
        {"email": "e@x.io"},
    ),
    (
        "anonymous-where-customer",
        "POST",
        CHANGE,
        ANONYMOUS,
        {"currentPassword": ALICE["password"], "newPassword": "changed-pass-1"},
    ),
    (
        "change-password",
        "POST",
        CHANGE,
        CUSTOMER,
        {"currentPassword": ALICE["password"], "newPassword": "changed-pass-1"},
    ),
    (
        "change-wrong-password",
        "POST",
        CHANGE,
        CUSTOMER,
        {"currentPassword": "wrong-pass", "newPassword": "changed-pass-1"},
    ),
    ("empty-body", "POST", RESET, ANONYMOUS, b""),
    ("invalid-json", "POST", RESET, ANONYMOUS, b'{"email": '),
    ("nan", "POST", RESET, ANONYMOUS, b'{"email": NaN}'),
    ("array-body", "POST", RESET, ANONYMOUS, [ALICE["email"]]),
    ("wrong-type", "POST", RESET, ANONYMOUS, {"email": 42}),
    ("unknown-field", "POST", RESET, ANONYMOUS, {"email": "c@x.io", "x": 1}),
    ("missing-field", "POST", RESET, ANONYMOUS, {}),
    ("not-utf8", "POST", RESET, ANONYMOUS, b'{"email": "\xff@x.io"}'),
    (
        "text-plain",
        "POST",
        RESET,
        {"Authorization": "Bearer {anonymous}", "Content-Type": "text/plain"},
        json.dumps({"email": ALICE["email"]}).encode(),
    ),
    (
        "charset-utf8",
        "POST",
        RESET,
        {"Authorization": "Bearer {anonymous}", "Content-Type": "application/json; charset=utf-8"},
        json.dumps({"email": ALICE["email"]}).encode(),
    ),
    (
        "too-large",
        "POST",
        RESET,
        ANONYMOUS,
        {"email": ALICE["email"], "pad": "x" * 70_000},
    ),
    (
        "reset-update-bad-token",
        "POST",
        f"{RESET}/update",
        ANONYMOUS,
        {"token": "nope", "password": "new-pass-123"},
    ),
    (
        "create-customer",
        "POST",
        f"/_mock/tenants/{TENANT}/customers",
        {},
        {"email": "new@example.com", "password": "new-pass-1"},
    ),
    (
        "create-customer-twice",
        "POST",
        f"/_mock/tenants/{TENANT}/customers",
        {},
        {"email": ALICE["email"], "password": "new-pass-1"},
    ),
    ("create-token-bad-kind", "POST", "/_mock/tokens", {}, {"tenant": TENANT, "kind": "robot"}),
    ("advance-clock", "POST", "/_mock/clock", {}, {"advanceSeconds": 5}),
    ("health", "GET", "/_mock/health", {}, None),
    (
        "login",
        "POST",
        f"/customer/{TENANT}/login",
        ANONYMOUS,
        {"email": ALICE["email"], "password": ALICE["password"]},
    ),
    (
        "login-wrong-password",
        "POST",
        f"/customer/{TENANT}/login",
        ANONYMOUS,
        {"email": ALICE["email"], "password": "wrong-pass"},
    ),
]


# Response fields the two apps draw at random.
RANDOM_FIELDS = {"access_token", "refresh_token", "session_id", "saas_token", "saasToken", "accessToken",
                 "refreshToken", "now", "id"}  # fmt: skip
# The response headers compared (the rest, such as the date, may differ).
COMPARED_HEADERS = ("content-type", "content-length", "allow", "access-control-allow-origin", "vary")


def exchange(app: Any, name: str) -> list[tuple[int, dict[str, str], Any]]:
    """The answers to the exchange sent twice (the second may take a path the first prepared)."""
    _, method, path, headers, body = next(entry for entry in EXCHANGES if entry[0] == name)
    client = app.test_client()
    tokens = {
        "anonymous": client.post("/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"}).json(),
        "customer": client.post("/_mock/tokens", json={"tenant": TENANT, "kind": "customer", **ALICE}).json(),
    }
    values = {kind: token["access_token"] for kind, token in tokens.items()}
    headers = {key: value.format(**values) for key, value in headers.items()}
    if body is not None:
        body = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {**JSON, **headers}
    answers = []
    for _ in range(2):
        response = client.request(method, path, headers=headers, content=body)
        try:
            payload: Any = response.json()
        except ValueError:
            payload = response.content
        if isinstance(payload, dict):
            payload = {key: value for key, value in payload.items() if key not in RANDOM_FIELDS}
        shown = {name: response.headers[name] for name in COMPARED_HEADERS if name in response.headers}
        answers.append((response.status_code, shown, payload))
    return answers


@pytest.mark.parametrize("name", [entry[0] for entry in EXCHANGES])
@pytest.mark.parametrize("validate_responses", [False, True], ids=["plain", "validating"])
def test_compiled_operation_answers_as_connexion(name, validate_responses):
    settings = Settings(seed=7, validate_responses=validate_responses)
    compiled = exchange(create_app(settings), name)
    connexion_only = exchange(create_app(settings, compile_operations=False), name)

    assert compiled == connexion_only


def compiled_operation_ids(app: Any) -> set[str]:
    app.test_client().get("/_mock/health")  # Connexion builds its middleware on the first request
    middleware = next(
        m for m in app.middleware.middleware_stack if isinstance(m, CompiledOperationsMiddleware)
    )
    return {operation_id for _base, operation_id in middleware.operations}


def test_credential_operations_are_compiled_on_the_async_engine():
    assert set(credentials.OPERATIONS) <= compiled_operation_ids(create_app())


def compiled_body_rules(app: Any) -> dict[str, Any]:
    app.test_client().get("/_mock/health")
    middleware = next(
        m for m in app.middleware.middleware_stack if isinstance(m, CompiledOperationsMiddleware)
    )
    return {
        operation_id: operation.body
        for (_base, operation_id), operation in middleware.operations.items()
        if getattr(operation, "body", None) is not None
    }


def json_values(names: list[str]) -> st.SearchStrategy[Any]:
    """JSON values as a client may send them, objects with the schema's field names above all."""
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
    keys = st.sampled_from([*names, "other"]) | st.text(max_size=4)
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=5),
        max_leaves=8,
    )


PLAIN_BODY_RULES = {
    operation_id: rule
    for operation_id, rule in compiled_body_rules(create_app()).items()
    if rule.plainly_valid is not None
}


def test_the_credential_bodies_take_the_plain_check():
    """The check that lets a plain body skip the schema validator is in use where it matters."""
    assert "POST-customer-request-reset-password" in PLAIN_BODY_RULES
    assert "POST-customer-change-account-password" in PLAIN_BODY_RULES


@pytest.mark.parametrize("operation_id", sorted(PLAIN_BODY_RULES))
def test_plain_check_agrees_with_the_schema_validator(operation_id):
    """A body skips the validator only when the validator would have found nothing (and the
    plain schemas are plain enough that it then always does)."""
    rule = PLAIN_BODY_RULES[operation_id]
    validator = Draft4RequestValidator(rule.schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    names = [*rule.schema.get("properties", {}), *rule.schema.get("required", [])]

    @given(json_values(names))
    @settings(max_examples=300, deadline=None)
    def agrees(body: Any) -> None:
        assert rule.plainly_valid(body) == validator.is_valid(body)

    agrees()
