"""The stores the tests run against, and the fixtures that provide them: memory, a SQLite file in
a temporary folder, a Redis server the tests start on a free port.

Without ``redis-server`` the Redis cases are skipped with the reason, unless
``CREDMOCK_REQUIRE_REDIS`` is set (as CI does): then they fail.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from credmock.tools.testing import RedisServer, redis_server_path

STORES = ["memory", "sqlite", "redis"]
SHARED_STORES = ["sqlite", "redis"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if redis_server_path() is None:
        if os.environ.get("CREDMOCK_REQUIRE_REDIS"):
            pytest.fail(
                "redis-server is missing and CREDMOCK_REQUIRE_REDIS is set (scripts/install-redis.sh)"
            )
        pytest.skip("redis-server is not installed (scripts/install-redis.sh installs it)")
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def store_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """``store_urls(kind)``: the URL of a store of that kind, a new SQLite file each call, the
    test's Redis database (cleared by whoever opens it with ``reset_on_start``)."""
    counter = itertools.count()

    def url(kind: str) -> str:
        if kind == "memory":
            return "memory"
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / f'state-{next(counter)}.db'}"
        if kind == "redis":
            return request.getfixturevalue("redis_server").url
        raise ValueError(kind)

    return url
