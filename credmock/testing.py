"""The public test helpers, by the path users import them from: a live credmock in a thread
(:class:`LiveServer`) or as the ``credmock`` command (:class:`ServerProcess`). They live in
:mod:`credmock.tools.testing`, beside the pytest plugin that uses them."""

from credmock.tools.testing import (
    LiveServer,
    RedisServer,
    ServerProcess,
    free_port,
    redis_server_path,
    stop_process,
    wait_until_healthy,
)

__all__ = [
    "LiveServer",
    "RedisServer",
    "ServerProcess",
    "free_port",
    "redis_server_path",
    "stop_process",
    "wait_until_healthy",
]
