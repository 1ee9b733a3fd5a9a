"""What an event loop keeps of Redis between requests (credmock/store/redis_tracking.py), against
a real redis-server: a kept value lasts exactly until Redis announces a change, and nothing is
kept while the announcements may be missed."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import redis
import redis.asyncio

from credmock.store import redis_tracking
from credmock.store.redis_store import ACCESS, CLOCK, TRACKED_PREFIXES
from credmock.store.redis_tracking import TrackedKeys
from credmock.tools.testing import RedisServer
from tests.test_store_from_loop import run

TOKEN = ACCESS + "tracked-test"


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


@contextlib.asynccontextmanager
async def tracking(url: str, timeout: float = 2.0, *, subscribed: bool = True) -> AsyncIterator[TrackedKeys]:
    """The store's tracked keys over the Redis of ``url``, following (once ``subscribed``) until
    the block ends."""
    pool = redis.asyncio.ConnectionPool.from_url(url, decode_responses=True)
    tracked = TrackedKeys.over_pool(pool, TRACKED_PREFIXES, timeout)
    tracked.start()
    try:
        if subscribed:
            assert await until(lambda: tracked.following)
        yield tracked
    finally:
        tracked.stop()


def test_a_value_kept_is_forgotten_when_another_client_changes_or_deletes_it(redis_server) -> None:
    other = redis.Redis.from_url(redis_server.url, decode_responses=True)

    async def main() -> None:
        async with tracking(redis_server.url) as tracked:
            tracked.keep(tracked.stamp(), {TOKEN: "first", CLOCK: "0"})
            assert tracked.get(TOKEN) == "first"

            other.set(TOKEN, "second")
            assert await until(lambda: tracked.get(TOKEN) is None)
            assert tracked.get(CLOCK) == "0"  # only what changed is forgotten

            tracked.keep(tracked.stamp(), {TOKEN: "second"})
            other.delete(TOKEN)
            assert await until(lambda: tracked.get(TOKEN) is None)

            other.incrbyfloat(CLOCK, 60)
            assert await until(lambda: tracked.get(CLOCK) is None)

    run(main())


def test_a_read_crossed_by_an_announcement_is_not_kept(redis_server) -> None:
    """The read's answer and the announcement of a change after it come on two connections:
    whichever arrives first, the value read is not kept once a change was announced."""
    other = redis.Redis.from_url(redis_server.url, decode_responses=True)

    async def main() -> None:
        async with tracking(redis_server.url) as tracked:
            stamp = tracked.stamp()
            other.set(TOKEN, "changed after the read")
            assert await until(lambda: tracked.stamp() != stamp)
            tracked.keep(stamp, {TOKEN: "as read"})
            assert tracked.get(TOKEN) is None

            other.set("credmock:access_expiry:unrelated", "1")  # outside the prefixes: no announcement
            stamp = tracked.stamp()
            await asyncio.sleep(0.05)
            tracked.keep(stamp, {TOKEN: "as read"})
            assert tracked.get(TOKEN) == "as read"

    run(main())


def test_a_flush_forgets_everything_kept(redis_server) -> None:
    other = redis.Redis.from_url(redis_server.url, decode_responses=True)

    async def main() -> None:
        async with tracking(redis_server.url) as tracked:
            tracked.keep(tracked.stamp(), {TOKEN: "kept", CLOCK: "5"})
            other.flushdb()
            assert await until(lambda: tracked.get(TOKEN) is None and tracked.get(CLOCK) is None)

    run(main())


def test_a_lost_subscription_forgets_all_and_keeps_nothing_until_back(redis_server, monkeypatch) -> None:
    monkeypatch.setattr(redis_tracking, "RETRY_AFTER", 0.2)
    other = redis.Redis.from_url(redis_server.url, decode_responses=True)

    async def main() -> None:
        async with tracking(redis_server.url) as tracked:
            tracked.keep(tracked.stamp(), {TOKEN: "kept"})
            other.client_kill_filter(_type="pubsub")

            assert await until(lambda: not tracked.following)
            assert tracked.get(TOKEN) is None
            assert tracked.stamp() is None  # a read now may not be kept
            tracked.keep(None, {TOKEN: "read meanwhile"})
            assert tracked.get(TOKEN) is None

            assert await until(lambda: tracked.following)  # subscribed again
            tracked.keep(tracked.stamp(), {TOKEN: "kept again"})
            assert tracked.get(TOKEN) == "kept again"

    run(main())


def test_a_redis_that_stops_answering_is_noticed_by_the_heartbeat(tmp_path: Path, monkeypatch) -> None:
    """A Redis that is paused (or a network that drops packets) closes nothing: the silence is
    noticed by an unanswered PING, and what was kept is forgotten."""
    monkeypatch.setattr(redis_tracking, "HEARTBEAT", 0.2)

    async def main(server: RedisServer) -> float:
        async with tracking(server.url, timeout=0.5) as tracked:
            tracked.keep(tracked.stamp(), {TOKEN: "kept"})
            began = asyncio.get_running_loop().time()
            server.process.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
            try:
                assert await until(lambda: not tracked.following, seconds=5.0)
                noticed = asyncio.get_running_loop().time() - began
            finally:
                server.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
            assert tracked.get(TOKEN) is None
            return noticed

    with RedisServer(tmp_path) as server:
        noticed = run(main(server))
    assert noticed < 2.0  # a heartbeat of silence, then the deadline for the PING's answer


def test_a_redis_refusing_tracking_is_said_once_and_nothing_kept(redis_server, monkeypatch, caplog) -> None:
    """An ACL user without the CLIENT command: one warning, no retries, every read from Redis."""
    monkeypatch.setattr(redis_tracking, "RETRY_AFTER", 0.02)
    admin = redis.Redis.from_url(redis_server.url, decode_responses=True)
    password = "acl-user-secret-7f3a"
    admin.acl_setuser(
        "no-client",
        enabled=True,
        passwords=[f"+{password}"],
        keys=["*"],
        channels=["*"],
        commands=["+@all", "-client"],
    )
    url = redis_server.url.replace("redis://", f"redis://no-client:{password}@", 1)

    async def main() -> None:
        async with tracking(url, subscribed=False) as tracked:
            await asyncio.sleep(0.3)  # many retry intervals
            assert not tracked.following
            tracked.keep(tracked.stamp(), {TOKEN: "read"})
            assert tracked.get(TOKEN) is None

    try:
        with caplog.at_level("WARNING", logger="credmock.store"):
            run(main())
    finally:
        admin.acl_deluser("no-client")
    messages = [record.getMessage() for record in caplog.records]
    refusals = [message for message in messages if "client-side caching" in message]
    assert len(refusals) == 1, refusals
    assert password not in refusals[0]
