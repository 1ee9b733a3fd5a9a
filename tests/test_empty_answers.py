"""An answer without a body carries no ``Content-Type``, on both engines and on the compiled fast
path: every 204, and the empty 200 of a profile or address update (PATCH and PUT)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from credmock.app import create_app
from credmock.settings import Settings
from tests.conftest import ALICE, ContractClient, bearer

# (engine, compiled operations)
ENGINES = {"async-compiled": ("async", True), "async": ("async", False), "flask": ("flask", True)}


@pytest.fixture(params=list(ENGINES))
def engine_client(request, checkers) -> ContractClient:
    engine, compiled = ENGINES[request.param]
    return ContractClient(
        create_app(Settings(validate_responses=True, seed=1234, engine=engine), compile_operations=compiled),
        checkers,
    )


def add_address(client: ContractClient, token: str) -> str:
    response = client.post(
        "/customer/demo/me/addresses", json={"contactName": "Alice"}, headers=bearer(token)
    )
    assert response.status_code == 201
    return response.json()["id"]


BODILESS_CALLS: dict[str, Callable[[ContractClient, str], httpx.Response]] = {
    "PATCH /me": lambda c, t: c.patch("/customer/demo/me", json={"firstName": "Al"}, headers=bearer(t)),
    "PUT /me": lambda c, t: c.put("/customer/demo/me", json={"firstName": "Al"}, headers=bearer(t)),
    "PATCH address": lambda c, t: c.patch(
        f"/customer/demo/me/addresses/{add_address(c, t)}", json={"city": "Bonn"}, headers=bearer(t)
    ),
    "PUT address": lambda c, t: c.put(
        f"/customer/demo/me/addresses/{add_address(c, t)}", json={"city": "Bonn"}, headers=bearer(t)
    ),
    "DELETE address": lambda c, t: c.delete(
        f"/customer/demo/me/addresses/{add_address(c, t)}", headers=bearer(t)
    ),
    "address tags": lambda c, t: c.post(
        f"/customer/demo/me/addresses/{add_address(c, t)}/tags", params={"tags": "BILLING"}, headers=bearer(t)
    ),
    "logout": lambda c, t: c.get("/customer/demo/logout", params={"accessToken": t}, headers=bearer(t)),
    "password reset request": lambda c, t: c.post(
        "/customer/demo/password/reset", json={"email": ALICE["email"]}, headers=bearer(c.anonymous_token())
    ),
    "login email change request": lambda c, t: c.post(
        "/customer/demo/me/accounts/internal/email/change",
        json={"email": ALICE["email"], "password": ALICE["password"], "newEmail": "alice.new@example.com"},
        headers=bearer(t),
    ),
    "mock API outbox clear": lambda c, t: c.delete("/_mock/outbox"),
}


@pytest.mark.parametrize("call", list(BODILESS_CALLS))
def test_an_answer_without_a_body_has_no_content_type(engine_client: ContractClient, call: str) -> None:
    for _ in range(2):  # the compiled path keeps the headers of a bodiless answer once built
        response = BODILESS_CALLS[call](engine_client, engine_client.customer_token())
        assert response.status_code in (200, 204), response.text
        assert response.content == b""
        assert "content-type" not in response.headers, dict(response.headers)


def test_an_error_keeps_its_content_type(engine_client: ContractClient) -> None:
    response = engine_client.patch("/customer/demo/me", json={"firstName": "Al"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
