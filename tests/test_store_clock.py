"""The clock offset of a shared store is read once per request and reused within it: another
instance's move of the clock must still be seen by the very next token check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from credmock.tools.testing import ServerProcess
from tests.conftest import EXPIRED_TOKEN_FAULT, TENANT, bearer
from tests.stores import SHARED_STORES


@pytest.fixture(params=SHARED_STORES)
def two_instances(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    if request.param == "redis":
        state = request.getfixturevalue("redis_server").url
    else:
        state = f"sqlite:///{tmp_path / 'state.db'}"
    with (
        ServerProcess(["--state", state, "--reset-on-start"]) as first,
        ServerProcess(["--state", state]) as second,
        httpx.Client(base_url=first.base_url, timeout=30) as a,
        httpx.Client(base_url=second.base_url, timeout=30) as b,
    ):
        yield a, b


def test_a_clock_moved_on_another_instance_expires_tokens_at_once(two_instances) -> None:
    a, b = two_instances
    token = b.post("/_mock/tokens", json={"tenant": TENANT, "kind": "anonymous"}).json()
    reset = f"/customer/{TENANT}/password/reset"
    body = {"email": "nobody@example.com"}
    assert (
        b.post(reset, json=body, headers=bearer(token["access_token"])).status_code == 204
    )  # B read the clock

    assert a.post("/_mock/clock", json={"advanceSeconds": token["expires_in"] + 60}).status_code == 200

    expired = b.post(reset, json=body, headers=bearer(token["access_token"]))
    assert expired.status_code == 401 and expired.json() == EXPIRED_TOKEN_FAULT
    assert b.get("/_mock/clock").json()["offsetSeconds"] == token["expires_in"] + 60
