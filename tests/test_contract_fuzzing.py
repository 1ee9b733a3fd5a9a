"""Generated input against the contract: schemathesis over ``spec/openapi.yaml`` (and the mock's own
API) against the in-process app, with and without valid tokens.

Every check is on (no 5xx, every status declared, content types, bodies conforming, auth not
ignored, undeclared methods answered 405 with ``Allow``, invalid input rejected), except
``positive_data_acceptance``: a stateful mock rightly answers a schema-valid request with a
declared 400 when the rules say no (an unknown email token, a wrong current password).
Examples per operation are bounded so the whole file stays fast; on a failure, schemathesis
prints the failing request as a curl command.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis import BaseSchema, Config

from credmock.app import CONTRACT_SPEC, MOCK_API_SPEC, CredmockApp, create_app, load_spec
from credmock.settings import Settings
from tests.conftest import ALICE, TENANT

EXAMPLES_PER_OPERATION = 20
CONTROL_TOKEN = "fuzzing-control-token"


def fuzz_config(*, auth: dict[str, Any] | None = None, tenant: str | None = None) -> Config:
    data: dict[str, Any] = {
        "generation": {"max-examples": EXAMPLES_PER_OPERATION, "database": "none"},
        "checks": {"positive_data_acceptance": {"enabled": False}},
    }
    if auth:
        data["auth"] = {"openapi": auth}
    if tenant:
        data["parameters"] = {"path.tenant": tenant}
    return Config.from_dict(data)


def issue_token(app: CredmockApp, **body: str) -> str:
    response = app.test_client().post("/_mock/tokens", json={"tenant": TENANT, **body})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


def bearer_auth(token: str) -> dict[str, Any]:
    return {scheme: {"bearer": token} for scheme in ("AnonymousAccessToken", "CustomerAccessToken")}


def schema_for(spec_name: str, app: CredmockApp, config: Config) -> BaseSchema:
    schema = schemathesis.openapi.from_dict(load_spec(spec_name), config=config)
    schema.app = app
    return schema


# schemathesis builds its tests at collection, so the apps and their tokens exist from import on.
CONTRACT_APP = create_app(Settings(seed=5))
ANONYMOUS_TOKEN = issue_token(CONTRACT_APP, kind="anonymous")
CUSTOMER_TOKEN = issue_token(CONTRACT_APP, kind="customer", email=ALICE["email"])
MOCK_API_APP = create_app(Settings(seed=6, control_token=CONTROL_TOKEN))


@schemathesis.pytest.parametrize(
    # Generated tenants, no valid token: 401 (or 400 for a malformed tenant) everywhere.
    no_token=schema_for(CONTRACT_SPEC, CONTRACT_APP, fuzz_config()),
    # The operations' rules run: the anonymous operations, and 403 for the customer ones.
    anonymous_token=schema_for(
        CONTRACT_SPEC, CONTRACT_APP, fuzz_config(auth=bearer_auth(ANONYMOUS_TOKEN), tenant=TENANT)
    ),
    customer_token=schema_for(
        CONTRACT_SPEC, CONTRACT_APP, fuzz_config(auth=bearer_auth(CUSTOMER_TOKEN), tenant=TENANT)
    ),
    # A valid token on generated tenants: 403 (another tenant) or 400 (a malformed one).
    customer_token_any_tenant=schema_for(
        CONTRACT_SPEC, CONTRACT_APP, fuzz_config(auth=bearer_auth(CUSTOMER_TOKEN))
    ),
)
def test_contract_operations_conform_to_the_contract(case: schemathesis.Case) -> None:
    case.call_and_validate()


# The mock's own API behind a control token: schemathesis also checks that calls without it fail.
@schema_for(
    MOCK_API_SPEC, MOCK_API_APP, fuzz_config(auth={"MockControlToken": {"api_key": CONTROL_TOKEN}})
).parametrize()
def test_mock_api_operations_conform_to_the_mock_api(case: schemathesis.Case) -> None:
    case.call_and_validate()
