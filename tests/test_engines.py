"""Both engines (``Settings.engine``: async, the default, and flask) serve the same wiring.

The whole suite runs on the default engine (the flows of tests/test_flows.py, the concurrency
and hostile-input tests on both); this smoke test walks a password reset, a
validation error and a token error through each engine, every response checked against the
contract by ``client_with``.
"""

from __future__ import annotations

import pytest

from credmock.app import ENGINES, create_app
from credmock.settings import Settings
from tests.conftest import ALICE, bearer, error_body, error_fields


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_password_reset_flow_same_on_each_engine(client_with, engine):
    client = client_with(engine=engine)
    assert isinstance(client.app, ENGINES[engine])
    anonymous = bearer(client.anonymous_token())

    url = "/customer/demo/password/reset"
    requested = client.post(url, json={"email": ALICE["email"]}, headers=anonymous)
    assert requested.status_code == 204
    token = client.latest_email(to=ALICE["email"], kind="password-reset")["token"]
    update = {"token": token, "password": "engine-new-pass"}
    reset = client.post("/customer/demo/password/reset/update", json=update, headers=anonymous)
    assert reset.status_code == 204
    assert client.can_log_in(ALICE["email"], "engine-new-pass")
    assert not client.can_log_in(ALICE["email"], ALICE["password"])

    wrong_type = client.post("/customer/demo/password/reset", json={"email": 42}, headers=anonymous)
    assert error_fields(error_body(wrong_type, 400)) == ["email"]
    no_token = client.post("/customer/demo/password/reset", json={"email": ALICE["email"]})
    assert no_token.status_code == 401


def test_create_app_unknown_engine_names_choices():
    with pytest.raises(ValueError, match=r"unknown engine 'tornado'.*async.*flask"):
        create_app(Settings(engine="tornado"))
