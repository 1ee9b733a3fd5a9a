"""What a verification is made of: the contract's operations, the options, one report row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from credmock.settings import CONTROL_TOKEN_HEADER

PASS, FAIL, SKIP = "pass", "fail", "skipped"
Verdict = Literal["pass", "fail", "skipped"]
# What the body of an expected error must look like, beyond the contract's (all-optional) schema.
FAULT, ERROR_MESSAGE, NO_BODY = "fault", "ErrorMessage", "none"

PASSWORD_RESET, EMAIL_CHANGE = "password-reset", "email-change"  # kinds of emailed token

REQUEST_RESET = "POST-customer-request-reset-password"
RESET_PASSWORD = "POST-customer-reset-password"
CHANGE_PASSWORD = "POST-customer-change-account-password"
CHANGE_EMAIL = "POST-customer-change-customer-login-email"
CONFIRM_EMAIL = "POST-customer-confirm-customer-login-email"


@dataclass(frozen=True)
class Operation:
    """One operation of the contract, as the probes need it."""

    operation_id: str
    method: str
    path: str  # the template, e.g. /customer/{tenant}/password/reset
    needs_customer_token: bool

    @property
    def label(self) -> str:
        return self.operation_id.removeprefix(f"{self.method.upper()}-customer-")


def contract_operations(spec: dict[str, Any]) -> dict[str, Operation]:
    """The contract's operations by operationId; the security scheme says which token each needs."""
    operations = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "put", "post", "delete", "patch"}:
                continue
            schemes = {name for requirement in operation.get("security", []) for name in requirement}
            operations[operation["operationId"]] = Operation(
                operation["operationId"], method.upper(), path, "CustomerAccessToken" in schemes
            )
    return operations


@dataclass
class Outcome:
    """One row of the report."""

    operation: Operation
    probe: str
    expected: int | None
    got: int | None = None
    verdict: Verdict = PASS
    reason: str = ""
    seconds: float = 0.0


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
    timeout: float = 10.0
    control_token: str | None = None  # of a credmock target started with one

    def mock_api_headers(self) -> dict[str, str]:
        """Headers of the calls to a credmock's /_mock API (never sent to the contract's paths)."""
        return {CONTROL_TOKEN_HEADER: self.control_token} if self.control_token else {}
