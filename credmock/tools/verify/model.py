"""What a verification is made of: the served operations, the options, one report row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from credmock.settings import CONTROL_TOKEN_HEADER

PASS, FAIL, SKIP = "pass", "fail", "skipped"
Verdict = Literal["pass", "fail", "skipped"]
# What the body of an expected error must look like, beyond the contract's (all-optional) schema.
FAULT, ERROR_MESSAGE, NO_BODY = "fault", "ErrorMessage", "none"

PASSWORD_RESET, EMAIL_CHANGE = "password-reset", "email-change"  # kinds of emailed token
ANONYMOUS, CUSTOMER = "AnonymousAccessToken", "CustomerAccessToken"  # the security schemes

REQUEST_RESET = "POST-customer-request-reset-password"
RESET_PASSWORD = "POST-customer-reset-password"
CHANGE_PASSWORD = "POST-customer-change-account-password"
CHANGE_EMAIL = "POST-customer-change-customer-login-email"
CONFIRM_EMAIL = "POST-customer-confirm-customer-login-email"
ANONYMOUS_LOGIN = "GET-oauth-generate-anonymous-access-token"
ANONYMOUS_REFRESH = "GET-oauth-refresh-anonymous-access-token"
SIGNUP = "POST-customer-create-customer-account"
LOGIN = "POST-customer-authenticate-customer"
REFRESH = "GET-customer-refresh-authtoken"
VALIDATE = "GET-customer-validate-token"
LOGOUT = "GET-customer-logout-customer"
PROFILE = "GET-customer-retrieve-customer-profile"
UPDATE_PROFILE = "PATCH-customer-update-customer"
ADD_ADDRESS = "POST-customer-add-address"
LIST_ADDRESSES = "GET-customer-list-customer-addresses"
GET_ADDRESS = "GET-customer-retrieve-address-by-id"
UPDATE_ADDRESS = "PATCH-customer-update-customer-address"
DELETE_ADDRESS = "DELETE-customer-remove-customer-address-by-id"
ADD_TAGS = "POST-customer-add-address-tags"
REMOVE_TAGS = "DELETE-customer-remove-address-tags"

# Skips that make the run fail (unless --allow-skips): a credential or a mailbox that failed.
# A skip for something not given (no --customer-token, no test account) is only reported.
SKIP_FAILED, SKIP_NOT_GIVEN = "failed", "not given"


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # query, path
    required: bool
    schema: dict[str, Any]


@dataclass(frozen=True)
class Operation:
    """One served operation, as the probes need it (schemas resolved, no $ref left)."""

    operation_id: str
    method: str
    path: str  # the template, e.g. /customer/{tenant}/password/reset
    schemes: frozenset[str] = frozenset()  # the security schemes any of which it accepts
    body_schema: dict[str, Any] | None = None
    body_required: bool = False
    parameters: tuple[Parameter, ...] = ()
    statuses: frozenset[int] = frozenset()  # the declared ones
    response_schemas: dict[int, dict[str, Any]] = field(default_factory=dict, compare=False, hash=False)

    @property
    def needs_customer_token(self) -> bool:
        return self.schemes == {CUSTOMER}

    @property
    def secured(self) -> bool:
        return bool(self.schemes)

    @property
    def label(self) -> str:
        return self.operation_id.split("-", 1)[1].removeprefix("customer-").removeprefix("oauth-")

    @property
    def refusals(self) -> frozenset[int]:
        """The declared 4xx statuses: a refused request must get one of them."""
        return frozenset(status for status in self.statuses if 400 <= status < 500)


def resolve(node: Any, spec: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """``node`` with every local $ref replaced by what it points to (a cycle is left as {})."""
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/"):
            if reference in seen:
                return {}
            target: Any = spec
            for part in reference[2:].split("/"):
                target = target[part]
            return resolve(target, spec, (*seen, reference))
        return {key: resolve(value, spec, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, spec, seen) for item in node]
    return node


def served_operations(spec: dict[str, Any]) -> dict[str, Operation]:
    """The operations of the served document by operationId; its security says which token each needs."""
    operations = {}
    for path, item in spec["paths"].items():
        shared = [resolve(p, spec) for p in item.get("parameters", [])]
        for method, operation in item.items():
            if method not in {"get", "put", "post", "delete", "patch"}:
                continue
            schemes = frozenset(name for requirement in operation.get("security", []) for name in requirement)
            body = resolve(operation.get("requestBody"), spec) or {}
            media = body.get("content", {}).get("application/json", {})
            parameters = {(p["name"], p["in"]): p for p in shared}
            parameters.update(
                {(p["name"], p["in"]): p for p in resolve(operation.get("parameters", []), spec)}
            )
            operations[operation["operationId"]] = Operation(
                operation["operationId"],
                method.upper(),
                path,
                schemes,
                media.get("schema") if media else None,
                bool(body.get("required")),
                tuple(
                    Parameter(p["name"], p["in"], bool(p.get("required")), p.get("schema", {}))
                    for p in parameters.values()
                ),
                frozenset(int(status) for status in operation.get("responses", {}) if status.isdigit()),
                _response_schemas(resolve(operation.get("responses", {}), spec)),
            )
    return operations


def _response_schemas(responses: dict[str, Any]) -> dict[int, dict[str, Any]]:
    schemas = {}
    for status, response in responses.items():
        media = (response.get("content") or {}).get("application/json")
        if status.isdigit() and media and "schema" in media:
            schemas[int(status)] = media["schema"]
    return schemas


@dataclass
class Exchange:
    """A request sent and the answer received, as a report shows them."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""


@dataclass
class Outcome:
    """One row of the report. ``expected`` is the status the probe expects, or None when any of
    ``accepted`` will do (a generated negative: any refusal the operation declares)."""

    operation: Operation
    probe: str
    expected: int | None
    got: int | None = None
    verdict: Verdict = PASS
    reason: str = ""
    seconds: float = 0.0
    accepted: frozenset[int] = frozenset()
    generated: bool = False
    skip_kind: str = ""
    exchange: Exchange | None = None
    response_json: Any = None

    @property
    def expectation(self) -> str:
        if self.expected is not None:
            return str(self.expected)
        if self.accepted:
            return "|".join(str(status) for status in sorted(self.accepted))
        return "-"

    @property
    def key(self) -> tuple[str, str]:
        return self.operation.operation_id, self.probe


@dataclass
class VerifyOptions:
    base_url: str
    tenant: str
    anonymous_token: str | None = None
    customer_token: str | None = None
    client_id: str | None = None
    email: str | None = None
    password: str | None = None
    new_email: str | None = None
    allow_writes: bool = False
    token_command: str | None = None
    mailbox: str | None = None  # imap://USER@HOST[:PORT]/FOLDER
    mailbox_password: str | None = None
    timeout: float = 10.0
    control_token: str | None = None  # of a credmock target started with one
    other_tenant: str | None = None  # anonymous login there gives the other tenant's token
    other_tenant_token: str | None = None
    max_generated: int | None = None  # per run; None: all
    mail_wait: float = 30.0

    def mock_api_headers(self) -> dict[str, str]:
        """Headers of the calls to a credmock's /_mock API (never sent to the contract's paths)."""
        return {CONTROL_TOKEN_HEADER: self.control_token} if self.control_token else {}
