"""Values of Redis keys that one event loop reuses without a round trip, for exactly as long as
Redis promises to say when they change: Redis's client-side caching ("tracking"), in the
broadcasting mode that RESP2 connections have.

One connection of the loop's subscribes to ``__redis__:invalidate`` and asks Redis
(``CLIENT TRACKING ON REDIRECT <itself> BCAST PREFIX ...``) to announce there every change to a
key under the given prefixes, by any client: a write, a delete, an expiry, a flush. A value read
while that connection is up is kept until its key is announced; when the connection fails or
stops answering its heartbeat, everything kept is forgotten and every read goes to Redis again
until the subscription is back.

A read and the announcement of a change that crosses it arrive on two connections, in either
order. So a read keeps its value only when no announcement at all arrived while it was on its
way (:meth:`TrackedKeys.stamp` before the read, :meth:`TrackedKeys.keep` after): a value is never
kept that Redis changed behind it.

Another process's change reaches this one when Redis's announcement is read, a fraction of a
millisecond after the change; this process's own changes are forgotten here at once by the
store. redis-py 5.2 has no client-side caching for ``redis.asyncio``; this uses only its public
``Connection`` (``connect``, ``send_command``, ``read_response``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from credmock.store.base import KEPT_TOKENS

logger = logging.getLogger("credmock.store")

INVALIDATIONS = "__redis__:invalidate"
# Silence on the subscription this long makes it send a PING; no answer within the store's
# deadline after that, and the subscription is taken for broken (a network that drops packets
# without closing the connection).
HEARTBEAT = 1.0
# After a broken subscription, the next attempt waits this long: a Redis that is down is not
# hammered, and until the subscription is back every read simply goes to Redis.
RETRY_AFTER = 1.0
KEPT = KEPT_TOKENS  # values kept at most; past it they are all forgotten and read again


class TrackedKeys:
    """The kept values of the keys under ``prefixes``, and the task that follows Redis's
    announcements of their changes. Used from one event loop only."""

    def __init__(self, connect: Callable[[], Any], prefixes: tuple[str, ...], timeout: float) -> None:
        """``connect()`` makes a new, unconnected ``redis.asyncio`` connection to the store."""
        self._connect = connect
        self._prefixes = prefixes
        self._timeout = timeout
        self._values: dict[str, str] = {}
        self._following = False  # the subscription is up: kept values are current
        self._announcements = 0  # changes announced (and subscriptions lost) so far
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def over_pool(cls, pool: Any, prefixes: tuple[str, ...], timeout: float) -> TrackedKeys:
        """Following with connections made like those of the ``redis.asyncio`` ``pool``."""
        return cls(lambda: pool.connection_class(**pool.connection_kwargs), prefixes, timeout)

    def start(self) -> None:
        """Follow the announcements from the running event loop, until :meth:`stop`."""
        if self._task is None:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._follow(), name="credmock-redis-tracking")

    def stop(self) -> None:
        if self._task is not None and not self._task.get_loop().is_closed():
            self._task.get_loop().call_soon_threadsafe(self._task.cancel)
        self._task = None
        self.forget_all()

    @property
    def following(self) -> bool:
        return self._following

    def get(self, key: str) -> str | None:
        """The kept value of ``key``, current as far as Redis has announced; None when not kept."""
        return self._values.get(key)

    def stamp(self) -> int | None:
        """Taken before a read whose values may be kept; None when nothing can be kept now."""
        return self._announcements if self._following else None

    def keep(self, stamp: int | None, values: Mapping[str, str | None]) -> None:
        """Keep ``values`` (None: the key has none, nothing kept) as read after :meth:`stamp`
        gave ``stamp``, unless a change was announced since."""
        if stamp is None or stamp != self._announcements:
            return
        if len(self._values) + len(values) > KEPT:
            self._values.clear()
        for key, value in values.items():
            if value is not None:
                self._values[key] = value

    def forget(self, *keys: str) -> None:
        """This process changed ``keys``: forget them now, before Redis announces it."""
        self._announcements += 1
        for key in keys:
            self._values.pop(key, None)

    def forget_all(self) -> None:
        self._announcements += 1
        self._values.clear()

    async def _follow(self) -> None:
        import redis

        while True:
            connection = self._connect()
            try:
                await self._subscribe(connection)
                await self._read_announcements(connection)
            except asyncio.CancelledError:
                raise
            except redis.ResponseError as error:  # an ACL without CLIENT or SUBSCRIBE, a proxy
                logger.warning(
                    "the Redis store refuses client-side caching (%s): every request reads its "
                    "access token from Redis",
                    error,
                )
                return
            except Exception as error:  # any failure: reads go to Redis until it is back
                logger.debug("Redis tracking lost: %s", error)
            finally:
                self._following = False
                self.forget_all()
                with contextlib.suppress(Exception):
                    await connection.disconnect(nowait=True)
            await asyncio.sleep(RETRY_AFTER)

    async def _subscribe(self, connection: Any) -> None:
        async with asyncio.timeout(self._timeout):
            await connection.connect()
            await connection.send_command("CLIENT", "ID")
            client_id = await connection.read_response()
            prefixes = [word for prefix in self._prefixes for word in ("PREFIX", prefix)]
            tracking = ("CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST", *prefixes)
            await connection.send_command(*tracking)
            await connection.read_response()  # OK, or a ResponseError raised
            await connection.send_command("SUBSCRIBE", INVALIDATIONS)
            await connection.read_response()
        self.forget_all()
        self._following = True

    async def _read_announcements(self, connection: Any) -> None:
        loop = asyncio.get_running_loop()
        pong_due: float | None = None
        while True:
            message = await connection.read_response(timeout=HEARTBEAT)  # None: silence
            if message is None:
                if pong_due is None:
                    if not connection.is_connected:  # send_command would connect anew, untracked
                        raise ConnectionError("the tracking connection closed")
                    await connection.send_command("PING")
                    pong_due = loop.time() + self._timeout
                elif loop.time() > pong_due:
                    raise TimeoutError(f"no answer to PING within {self._timeout:g} s")
                continue
            kind = message[0]
            if kind == "pong":
                pong_due = None
            elif kind == "message":
                keys = message[2]
                if keys is None:  # a flush: every key changed
                    self.forget_all()
                else:
                    self.forget(*keys)
