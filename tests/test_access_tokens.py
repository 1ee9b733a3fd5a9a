"""The access-token rules every credential operation shares, checked on each of the five:
no usable token -> 401 Apigee fault; an expired one -> 401 "Access Token expired" at its
lifetime and not a second before; a token of another tenant -> 403. None of them changes state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import (
    ALICE,
    BAD_AUTHORIZATIONS,
    DAVE_OF_ACME,
    EXPIRED_TOKEN_FAULT,
    INVALID_TOKEN_FAULT,
    ContractClient,
    bearer,
    error_body,
)

ANONYMOUS_LIFETIME = 3599
CUSTOMER_LIFETIME = 2591999


def _emailed_token(client: ContractClient, url: str, body: dict[str, Any], token: str, kind: str) -> str:
    assert client.post(url, json=body, headers=bearer(token)).status_code == 204
    return client.latest_email(kind=kind)["token"]


@dataclass(frozen=True)
class Operation:
    url: str
    token_kind: str  # "anonymous" or "customer"
    body: Callable[[ContractClient], dict[str, Any]]  # a body that would succeed

    def token(self, client: ContractClient, tenant: str = "demo") -> str:
        if self.token_kind == "anonymous":
            return client.anonymous_token(tenant)
        return (
            client.customer_token(DAVE_OF_ACME["email"], tenant)
            if tenant == "acme"
            else client.customer_token()
        )


OPERATIONS = {
    "request-reset-password": Operation(
        "/customer/demo/password/reset", "anonymous", lambda client: {"email": ALICE["email"]}
    ),
    "reset-password": Operation(
        "/customer/demo/password/reset/update",
        "anonymous",
        lambda client: {
            "token": _emailed_token(
                client,
                "/customer/demo/password/reset",
                {"email": ALICE["email"]},
                client.anonymous_token(),
                "password-reset",
            ),
            "password": "brand-new-pass",
        },
    ),
    "change-account-password": Operation(
        "/customer/demo/password/change",
        "customer",
        lambda client: {"currentPassword": ALICE["password"], "newPassword": "brand-new-pass"},
    ),
    "change-customer-login-email": Operation(
        "/customer/demo/me/accounts/internal/email/change",
        "customer",
        lambda client: {
            "email": ALICE["email"],
            "password": ALICE["password"],
            "newEmail": "new@example.com",
        },
    ),
    "confirm-customer-login-email": Operation(
        "/customer/demo/me/accounts/internal/email/change/confirm",
        "anonymous",
        lambda client: {
            "token": _emailed_token(
                client,
                "/customer/demo/me/accounts/internal/email/change",
                {"email": ALICE["email"], "password": ALICE["password"], "newEmail": "new@example.com"},
                client.customer_token(),
                "email-change",
            )
        },
    ),
}


def state(client: ContractClient) -> tuple[Any, ...]:
    """What a refused request must leave as it was: the emails, the customers, Alice's password."""
    return (
        client.outbox(),
        client.get("/_mock/tenants/demo/customers").json(),
        client.can_log_in(ALICE["email"], ALICE["password"]),
    )


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
@pytest.mark.parametrize("headers", BAD_AUTHORIZATIONS.values(), ids=BAD_AUTHORIZATIONS.keys())
def test_credential_operation_without_valid_token_is_unauthorized(
    client: ContractClient, operation: Operation, headers: dict[str, str]
) -> None:
    body = operation.body(client)
    before = state(client)
    response = client.post(operation.url, json=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN_FAULT
    assert state(client) == before


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_credential_operation_expired_token_is_unauthorized(
    client: ContractClient, operation: Operation
) -> None:
    lifetime = ANONYMOUS_LIFETIME if operation.token_kind == "anonymous" else CUSTOMER_LIFETIME
    token = operation.token(client)
    client.advance_clock(lifetime - 1)
    still_valid = client.post(operation.url, json={}, headers=bearer(token))
    assert still_valid.status_code == 400, "a second before its lifetime ends the token still works"

    body = operation.body(client)
    before = state(client)
    client.advance_clock(1)
    response = client.post(operation.url, json=body, headers=bearer(token))
    assert response.status_code == 401
    assert response.json() == EXPIRED_TOKEN_FAULT
    assert state(client) == before


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_credential_operation_other_tenant_token_is_forbidden(
    client: ContractClient, operation: Operation
) -> None:
    body = operation.body(client)
    before = state(client)
    error_body(client.post(operation.url, json=body, headers=bearer(operation.token(client, "acme"))), 403)
    assert state(client) == before
