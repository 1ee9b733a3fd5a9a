"""State in Redis (the ``redis`` client): every credmock instance using the same Redis database
shares tenants, tokens, outbox and clock.

Atomicity is Redis's: an operation that reads and writes several keys is one Lua script (Redis
runs a script alone, so a token is spent by exactly one caller and a new email token replaces the
previous one in one step), or an optimistic ``WATCH``/``MULTI`` transaction that redis-py retries
when another client changed a watched key (a customer's record). Tokens are indexed by expiry
(sorted sets), so the domain's purge drops them on the mock's own clock, which ``/_mock/clock``
may have moved ahead; access tokens also carry a TTL as a backstop (their lifetime plus
:data:`TTL_MARGIN`). An email token needs none: each customer has at most one per purpose.
Keys start with ``credmock:``; a reset deletes those only, so a database may hold other data too.

A reset is one script (:data:`FILL`): it deletes every ``credmock:`` key and writes the fixtures,
so no other client sees a store half cleared or half filled. Redis is busy for it in proportion
to the keys (about 7 ms for 10,000). A namespace swap (keys under a generation number, a new one
filled, then the number moved) would make a reset cost only the fixtures, but every operation
would have to read the generation first: a script for every read or one more round trip per
request, paid by every request to keep resets of large stores short. Tokens of a customer are
stored only while the customer exists (checked in the same script), so a request that read a
customer before a reset never leaves a token of theirs after it.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from credmock.core.coverage import CoverageKey
from credmock.core.email_address import email_key
from credmock.core.identity import AuthorizationCode
from credmock.core.messages import Delivery, Email
from credmock.core.models import AccessToken, Customer, EmailToken
from credmock.store.base import (
    DEFAULT_TIMEOUT,
    ParsedAccessTokens,
    RecentOffset,
    StoreError,
    describe_failure,
    dump,
    guard_methods,
    load,
)
from credmock.store.deadlines import Deadlines
from credmock.store.from_loop import STORE_THREADS, Threads, wait
from credmock.store.redis_tracking import TrackedKeys

PREFIX = "credmock:"
CLOCK = PREFIX + "clock"
ACCESS = PREFIX + "access:"
# What a request's loop keeps between requests while Redis announces its changes
# (redis_tracking.py): access tokens (only added and forgotten) and the clock.
TRACKED_PREFIXES = (ACCESS, CLOCK)
DELIVERIES = PREFIX + "deliveries"  # email id -> its SMTP delivery, for the emails of the outbox
# Keys outlive their token by this long at most: past it no clock setting can still need them.
TTL_MARGIN = 2 * 86_400
PAGE = 100
FIRST_PAGE = 8
# The API coverage counts, a hash of JSON [operationId, status, error type] -> requests. Outside
# PREFIX, so a reset of the state leaves it; only clear_coverage deletes it.
COVERAGE = "credmock-coverage"
# The identity provider's signing key: outside the prefix, so a reset keeps it.
IDP_SIGNING_KEY = "credmock-idp:signing_key"

ADD_CUSTOMER = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'email' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'id' end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('SADD', KEYS[4], ARGV[4]) == 1 then redis.call('RPUSH', KEYS[5], ARGV[4]) end
redis.call('INCR', KEYS[6])
return false
"""
# A fill, or with ARGV[2] == '1' a reset and fill, as one step no other client sees half-done:
# forget every key of credmock's (ARGV[1] is the prefix), then the tenants (ARGV[3], a JSON list)
# and customers (ARGV[4], a JSON list of [tenant, id, email key, record]), and the "filled" mark.
FILL = """
local prefix = ARGV[1]
if ARGV[2] == '1' then
  local keys = redis.call('KEYS', prefix .. '*')
  for first = 1, #keys, 1000 do
    redis.call('UNLINK', unpack(keys, first, math.min(first + 999, #keys)))
  end
elseif redis.call('EXISTS', prefix .. 'filled') == 1 then
  return 0
end
redis.call('SET', prefix .. 'filled', '1')
local function add_tenant(name)
  if redis.call('SADD', prefix .. 'tenants:set', name) == 1 then
    redis.call('RPUSH', prefix .. 'tenants', name)
  end
end
for _, name in ipairs(cjson.decode(ARGV[3])) do add_tenant(name) end
local customers = cjson.decode(ARGV[4])
for _, customer in ipairs(customers) do
  local tenant, id = customer[1], customer[2]
  redis.call('SET', prefix .. 'customer:' .. tenant .. ':' .. id, customer[4])
  redis.call('RPUSH', prefix .. 'customers:' .. tenant, id)
  redis.call('HSET', prefix .. 'emails:' .. tenant, customer[3], id)
  add_tenant(tenant)
end
redis.call('INCRBY', prefix .. 'customer_count', #customers)
return 1
"""
# An access token (KEYS[1], record ARGV[1], TTL ARGV[2]) with its refresh token (KEYS[2], or '')
# and its expiry (KEYS[3]); a customer's (KEYS[4], KEYS[5]: its record and its tokens) only while
# the customer exists.
ADD_ACCESS_TOKEN = """
if KEYS[4] ~= '' and redis.call('EXISTS', KEYS[4]) == 0 then return 0 end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
if KEYS[2] ~= '' then redis.call('SET', KEYS[2], ARGV[3], 'EX', ttl) end
if KEYS[5] ~= '' then
  redis.call('SADD', KEYS[5], ARGV[3])
  if redis.call('TTL', KEYS[5]) < ttl then redis.call('EXPIRE', KEYS[5], ttl) end
end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
return 1
"""
# An email (ARGV[1], id ARGV[3]) on the outbox (KEYS[1]) and its delivery (ARGV[4], or '') in the
# deliveries (KEYS[2]); the emails beyond the capacity (ARGV[2]) fall off, with their deliveries.
ADD_EMAIL = """
redis.call('LPUSH', KEYS[1], ARGV[1])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) end
local capacity = tonumber(ARGV[2])
if redis.call('HLEN', KEYS[2]) > 0 then
  for _, raw in ipairs(redis.call('LRANGE', KEYS[1], capacity, -1)) do
    redis.call('HDEL', KEYS[2], cjson.decode(raw).id)
  end
end
redis.call('LTRIM', KEYS[1], 0, capacity - 1)
"""
# The customer whose email key (ARGV[1]) the tenant's index (KEYS[1]) holds, its record key made of
# ARGV[2] and the id: one round trip instead of two.
CUSTOMER_BY_EMAIL = """
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
return redis.call('GET', ARGV[2] .. id)
"""
# Add to the API coverage counts (the hash KEYS[1]) each field ARGV[i] its count ARGV[i + 1]:
# every count or none, in one round trip.
ADD_COVERAGE = """
for i = 1, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
"""
SET_DELIVERY = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
"""
ADD_TENANT = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[1]) end
"""
# Forget one access token (ARGV[2]) or, with ARGV[2] empty, the tokens of the set KEYS[1]
# (of session ARGV[3] when not empty), with their refresh tokens.
FORGET_ACCESS_TOKENS = """
local prefix = ARGV[1]
local function forget(value)
  local raw = redis.call('GET', prefix .. 'access:' .. value)
  redis.call('ZREM', prefix .. 'access_expiry', value)
  if not raw then return nil end
  local token = cjson.decode(raw)
  redis.call('DEL', prefix .. 'access:' .. value)
  if type(token.refresh_token) == 'string' then
    redis.call('DEL', prefix .. 'refresh:' .. token.refresh_token)
  end
  if type(token.customer_id) == 'string' then
    redis.call('SREM', prefix .. 'tokens_of:' .. token.tenant .. ':' .. token.customer_id, value)
  end
  return token
end
if ARGV[2] ~= '' then forget(ARGV[2]) return 0 end
for _, value in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local raw = redis.call('GET', prefix .. 'access:' .. value)
  if not raw then
    redis.call('SREM', KEYS[1], value)
  elseif ARGV[3] == '' or cjson.decode(raw).session_id == ARGV[3] then
    forget(value)
  end
end
return 0
"""
REPLACE_EMAIL_TOKEN = """
local prefix = ARGV[1]
if redis.call('EXISTS', KEYS[4]) == 0 then return 0 end
local previous = redis.call('GET', KEYS[1])
if previous then
  redis.call('DEL', prefix .. 'email_token:' .. previous)
  redis.call('ZREM', KEYS[3], previous)
end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
return 1
"""
SPEND_EMAIL_TOKEN = """
local prefix = ARGV[1]
local raw = redis.call('GET', KEYS[1])
redis.call('ZREM', prefix .. 'email_expiry', ARGV[2])
if not raw then return 0 end
redis.call('DEL', KEYS[1])
local token = cjson.decode(raw)
local live = prefix .. 'live_email_token:' .. token.tenant .. ':' .. token.customer_id .. ':' .. token.purpose
if redis.call('GET', live) == ARGV[2] then redis.call('DEL', live) end
return 1
"""


KIND = "Redis"
T = TypeVar("T")
SCRIPTS = {
    "_fill": FILL,
    "_add_access_token": ADD_ACCESS_TOKEN,
    "_add_customer": ADD_CUSTOMER,
    "_add_email": ADD_EMAIL,
    "_set_delivery": SET_DELIVERY,
    "_add_tenant": ADD_TENANT,
    "_forget": FORGET_ACCESS_TOKENS,
    "_replace_email_token": REPLACE_EMAIL_TOKEN,
    "_spend_email_token": SPEND_EMAIL_TOKEN,
    "_customer_by_email": CUSTOMER_BY_EMAIL,
    "_add_coverage": ADD_COVERAGE,
}
# Methods that use a WATCH/MULTI transaction (redis.asyncio's differs from the synchronous one),
# and the purge (at most every few seconds): from the event loop they run on a thread. Every
# other method sends plain commands and scripts, the same through either client.
ON_THREADS = frozenset(
    {
        "set_password_hash",
        "change_login_email",
        "record_login",
        "replace_profile",
        "activate_customer",
        "purge",
        "close",
    }
)


class _Awaited:
    """A ``redis.asyncio`` client whose commands are called like the synchronous client's: each
    one awaited by the event loop, within the store's deadline, while the calling rule waits."""

    def __init__(self, client: Any, deadlines: Deadlines) -> None:
        self._client = client
        self._deadlines = deadlines

    def __getattr__(self, name: str) -> Callable[..., Any]:
        command = getattr(self._client, name)
        deadlines = self._deadlines

        def call(*args: Any, **kwargs: Any) -> Any:
            return wait(_within(command(*args, **kwargs), deadlines))

        setattr(self, name, call)  # found here next time, without __getattr__
        return call


def _awaited(script: Any, deadlines: Deadlines) -> Callable[..., Any]:
    def call(keys: list[str], args: list[Any]) -> Any:
        return wait(_within(script(keys=keys, args=args), deadlines))

    return call


async def _within(command: Awaitable[T], deadlines: Deadlines) -> T:
    """The answer to ``command``, or redis-py's TimeoutError past the deadline (redis-py drops
    the connection of a command cut short)."""
    import redis

    try:
        return await deadlines.within(command)
    except TimeoutError:
        raise redis.TimeoutError(f"no answer from Redis within {deadlines.seconds:g} s") from None


def refusal_of_writes(client: Any) -> str | None:
    """Why the Redis of ``client`` would refuse credmock's writes (a replica, too few replicas,
    out of memory without eviction), found by one small write that expires at once; None when it
    takes them."""
    import redis

    try:
        client.set(PREFIX + "write_check", "1", px=1)
    except redis.ResponseError as error:
        return describe_failure(error).split(": ", 1)[-1]  # Redis's words, without redis-py's class
    return None


class RedisStore:
    def __init__(
        self, client: Any, async_client: Callable[[], Any] | None = None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        """The store over the redis-py ``client``; ``async_client`` makes the same client for
        ``redis.asyncio``, once per event loop, so a request on the loop waits for Redis without
        a thread (without it, such calls run on threads)."""
        import redis

        self._redis = client
        try:
            client.ping()
            refusal = refusal_of_writes(client)
        except redis.AuthenticationError:
            raise StoreError("the Redis store refused the password of --state", kind=KIND) from None
        except redis.RedisError as error:
            reason = describe_failure(error)
            raise StoreError(f"cannot reach the Redis store of --state ({reason})", kind=KIND) from None
        if refusal is not None:
            raise StoreError(f"the Redis store of --state refuses writes ({refusal})", kind=KIND)
        for attribute, script in SCRIPTS.items():
            setattr(self, attribute, client.register_script(script))
        self._offset = RecentOffset()
        self._access_tokens = ParsedAccessTokens()
        self._threads = Threads()
        self._async_client = async_client
        self._timeout = timeout
        self._loop_views: dict[Any, RedisStore] = {}  # event loop -> this store over async_client
        self._tracked: TrackedKeys | None = None  # a loop view's: the keys its loop keeps

    @classmethod
    def from_url(cls, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> RedisStore:
        """The store of ``url``; each call waits ``timeout`` seconds at most to connect and as
        long for each answer. A broken connection (Redis restarted) is retried once at once, a
        timeout never: redis-py's default retries would hold a request for many deadlines."""
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        database = urlsplit(url).path.strip("/") if url.startswith(("redis://", "rediss://")) else ""
        if database and not database.isdigit():  # redis-py would quietly use database 0
            raise ValueError("--state redis://HOST:PORT/DB: the database DB must be a number, e.g. /0")
        options = {"decode_responses": True, "socket_connect_timeout": timeout, "socket_timeout": timeout}
        try:
            client = redis.Redis.from_url(
                url, retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)), **options
            )
        except ValueError:
            raise ValueError("--state redis://[:password@]HOST:PORT/DB is not a valid Redis URL") from None

        def async_client() -> Any:
            import redis.asyncio

            # Deadlines are set per call (_Awaited), not per socket read: redis.asyncio's socket
            # timeouts cost a task and a timer on every command. At most STORE_THREADS calls
            # at once; a call beyond them waits for a connection, within its own deadline.
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                url,
                max_connections=STORE_THREADS,
                timeout=None,
                decode_responses=True,
                socket_connect_timeout=timeout,
                socket_timeout=None,
            )
            return redis.asyncio.Redis(connection_pool=pool)

        return cls(client, async_client, timeout=timeout)

    def _from_loop(self, name: str, function: Callable[..., T], args: tuple, kwargs: dict[str, Any]) -> T:
        """A call from a request on the event loop: its commands through ``redis.asyncio``
        (awaited by the loop), or on a thread for the methods of :data:`ON_THREADS`."""
        if name in ON_THREADS or self._async_client is None:
            return self._threads.run(function, *args, **kwargs)
        return function(self._loop_view(), *args[1:], **kwargs)

    def _loop_view(self) -> RedisStore:
        """This store with its commands and scripts sent by this event loop's asyncio client."""
        loop = asyncio.get_running_loop()
        view = self._loop_views.get(loop)
        if view is None:
            client = self._async_client()  # type: ignore[misc]
            view = copy.copy(self)
            deadlines = Deadlines(self._timeout)
            view._redis = _Awaited(client, deadlines)
            for attribute, script in SCRIPTS.items():
                setattr(view, attribute, _awaited(client.register_script(script), deadlines))
            view._tracked = TrackedKeys.over_pool(client.connection_pool, TRACKED_PREFIXES, self._timeout)
            view._tracked.start()
            for stale in [other for other in self._loop_views if other.is_closed()]:
                del self._loop_views[stale]
            self._loop_views[loop] = view
        return view

    def close(self) -> None:
        self._threads.close()
        for view in self._loop_views.values():
            view._tracked.stop()  # type: ignore[union-attr]
        self._loop_views.clear()
        self._redis.close()

    # Lifecycle --------------------------------------------------------------------------------

    def is_filled(self) -> bool:
        return bool(self._redis.exists(PREFIX + "filled"))

    def fill(self, tenants: list[str], customers: list[Customer], *, replace: bool) -> bool:
        records = [[c.tenant, c.id, email_key(c.email), dump(c)] for c in customers]
        arguments = [PREFIX, "1" if replace else "", json.dumps(tenants), json.dumps(records)]
        filled = self._fill(keys=[], args=arguments) == 1
        if filled and replace:
            self._forget_tracked()
            self._offset.set(0.0)
        return filled

    # Tenants and customers --------------------------------------------------------------------

    def add_tenant(self, name: str) -> None:
        self._add_tenant(keys=[PREFIX + "tenants:set", PREFIX + "tenants"], args=[name])

    def tenants(self) -> list[str]:
        return self._redis.lrange(PREFIX + "tenants", 0, -1)

    @staticmethod
    def _customer_key(tenant: str, customer_id: str) -> str:
        return f"{PREFIX}customer:{tenant}:{customer_id}"

    def add_customer(self, customer: Customer) -> str | None:
        tenant = customer.tenant
        return self._add_customer(
            keys=[
                f"{PREFIX}emails:{tenant}",
                self._customer_key(tenant, customer.id),
                f"{PREFIX}customers:{tenant}",
                PREFIX + "tenants:set",
                PREFIX + "tenants",
                PREFIX + "customer_count",
            ],
            args=[email_key(customer.email), customer.id, dump(customer), tenant],
        )

    def customer(self, tenant: str, customer_id: str) -> Customer | None:
        raw = self._redis.get(self._customer_key(tenant, customer_id))
        return load(Customer, raw) if raw else None

    def customer_by_email(self, tenant: str, email: str) -> Customer | None:
        raw = self._customer_by_email(
            keys=[f"{PREFIX}emails:{tenant}"], args=[email_key(email), self._customer_key(tenant, "")]
        )
        return load(Customer, raw) if raw else None

    def customers(self, tenant: str) -> list[Customer]:
        ids = self._redis.lrange(f"{PREFIX}customers:{tenant}", 0, -1)
        if not ids:
            return []
        records = self._redis.mget([self._customer_key(tenant, customer_id) for customer_id in ids])
        return [load(Customer, raw) for raw in records if raw]

    def customer_count(self) -> int:
        return int(self._redis.get(PREFIX + "customer_count") or 0)

    def set_password_hash(
        self, tenant: str, customer_id: str, password_hash: str, *, replacing: str | None = None
    ) -> bool:
        key = self._customer_key(tenant, customer_id)

        def update(pipe: Any) -> bool:
            raw = pipe.get(key)
            record = json.loads(raw) if raw else None
            if record is None or replacing not in (None, record["password_hash"]):
                return False
            record["password_hash"] = password_hash
            record["initial_password"] = False
            pipe.multi()
            pipe.set(key, json.dumps(record, separators=(",", ":")))
            return True

        return self._redis.transaction(update, key, value_from_callable=True)

    def change_login_email(
        self, tenant: str, customer_id: str, new_email: str, *, sync_contact_email: bool
    ) -> bool:
        key = self._customer_key(tenant, customer_id)
        emails = f"{PREFIX}emails:{tenant}"

        def change(pipe: Any) -> bool:
            raw = pipe.get(key)
            owner = pipe.hget(emails, email_key(new_email))
            if not raw or (owner is not None and owner != customer_id):
                return False
            record = json.loads(raw)
            pipe.multi()
            pipe.hdel(emails, email_key(record["email"]))
            pipe.hset(emails, email_key(new_email), customer_id)
            record["email"] = new_email
            record["version"] = record.get("version", 1) + 1
            if sync_contact_email:
                record["contact_email"] = new_email
            pipe.set(key, json.dumps(record, separators=(",", ":")))
            return True

        return self._redis.transaction(change, key, emails, value_from_callable=True)

    def record_login(self, tenant: str, customer_id: str, at: float) -> bool:
        key = self._customer_key(tenant, customer_id)

        def update(pipe: Any) -> bool:
            raw = pipe.get(key)
            if not raw:
                return False
            record = json.loads(raw)
            record["last_login"] = at
            pipe.multi()
            pipe.set(key, json.dumps(record, separators=(",", ":")))
            return True

        return self._redis.transaction(update, key, value_from_callable=True)

    def replace_profile(self, updated: Customer, *, version: int) -> bool:
        key = self._customer_key(updated.tenant, updated.id)
        profile = json.loads(dump(updated.profile))

        def replace(pipe: Any) -> bool:
            raw = pipe.get(key)
            record = json.loads(raw) if raw else None
            if record is None or record.get("version", 1) != version:
                return False
            record.update(
                first_name=updated.first_name,
                last_name=updated.last_name,
                contact_email=updated.contact_email,
                profile=profile,
                version=version + 1,
            )
            pipe.multi()
            pipe.set(key, json.dumps(record, separators=(",", ":")))
            return True

        return self._redis.transaction(replace, key, value_from_callable=True)

    # Access tokens ----------------------------------------------------------------------------

    def add_access_token(self, token: AccessToken) -> bool:
        customer = token.customer_id is not None
        keys = [
            ACCESS + token.value,
            f"{PREFIX}refresh:{token.refresh_token}" if token.refresh_token else "",
            PREFIX + "access_expiry",
            self._customer_key(token.tenant, token.customer_id) if customer else "",  # type: ignore[arg-type]
            f"{PREFIX}tokens_of:{token.tenant}:{token.customer_id}" if customer else "",
        ]
        ttl = round(token.expires_at - token.issued_at) + TTL_MARGIN
        return self._add_access_token(keys=keys, args=[dump(token), ttl, token.value, token.expires_at]) == 1

    def access_token(self, value: str) -> AccessToken | None:
        """The token, and the clock's offset in the same round trip: the check of the token
        that follows reads the clock, and so does the rest of the request. On a loop that keeps
        both (:class:`TrackedKeys`), no round trip."""
        key = ACCESS + value
        tracked = self._tracked
        stamp = None
        if tracked is not None:
            raw, offset = tracked.get(key), tracked.get(CLOCK)
            if raw is not None and offset is not None:
                self._offset.set(float(offset))
                return self._access_tokens.load(raw)
            stamp = tracked.stamp()
        raw, offset = self._redis.mget(key, CLOCK)
        if tracked is not None:
            tracked.keep(stamp, {key: raw, CLOCK: offset or "0"})
        self._offset.set(float(offset or 0.0))
        return self._access_tokens.load(raw) if raw else None

    def access_token_of_refresh_token(self, refresh_token: str) -> AccessToken | None:
        value = self._redis.get(f"{PREFIX}refresh:{refresh_token}")
        return self.access_token(value) if value else None

    def spend_refresh_token(self, refresh_token: str) -> bool:
        return self._redis.delete(f"{PREFIX}refresh:{refresh_token}") == 1

    def forget_access_tokens(self, tenant: str, customer_id: str, session_id: str | None = None) -> None:
        self._forget(keys=[f"{PREFIX}tokens_of:{tenant}:{customer_id}"], args=[PREFIX, "", session_id or ""])
        self._forget_tracked()

    def forget_access_token(self, value: str) -> None:
        self._forget(keys=[], args=[PREFIX, value, ""])
        self._forget_tracked(ACCESS + value)

    def _forget_tracked(self, *keys: str) -> None:
        """What this process changed, forgotten by its loop at once (all with no ``keys``),
        without waiting for Redis's announcement. Off the loop (a store thread) there is nothing
        to forget here: the announcement does it."""
        if self._tracked is None:
            return
        if keys:
            self._tracked.forget(*keys)
        else:
            self._tracked.forget_all()

    # Email tokens -----------------------------------------------------------------------------

    def replace_email_token(self, token: EmailToken) -> bool:
        replaced = self._replace_email_token(
            keys=[
                f"{PREFIX}live_email_token:{token.tenant}:{token.customer_id}:{token.purpose}",
                f"{PREFIX}email_token:{token.value}",
                PREFIX + "email_expiry",
                self._customer_key(token.tenant, token.customer_id),
            ],
            args=[PREFIX, token.value, dump(token), token.expires_at],
        )
        return replaced == 1

    def email_token(self, value: str) -> EmailToken | None:
        raw = self._redis.get(f"{PREFIX}email_token:{value}")
        return load(EmailToken, raw) if raw else None

    def spend_email_token(self, value: str) -> bool:
        return self._spend_email_token(keys=[f"{PREFIX}email_token:{value}"], args=[PREFIX, value]) == 1

    # Outbox -----------------------------------------------------------------------------------

    def add_email(self, email: Email, capacity: int) -> None:
        delivery = dump(email.delivery) if email.delivery is not None else ""
        record = dump(dataclasses.replace(email, delivery=None))
        self._add_email(keys=[PREFIX + "outbox", DELIVERIES], args=[record, capacity, email.id, delivery])

    def set_delivery(self, email_id: str, delivery: Delivery) -> None:
        self._set_delivery(keys=[DELIVERIES], args=[email_id, dump(delivery)])

    def emails(self) -> Iterator[Email]:
        """Newest first, read a page at a time, small pages first (most callers want the newest)."""
        start, size = 0, FIRST_PAGE
        while True:
            page = self.email_page(start, size)
            yield from page
            if len(page) < size:
                return
            start += size
            size = min(size * 4, PAGE)

    def email_page(self, start: int, size: int) -> list[Email]:
        """Up to ``size`` emails from the ``start``-th newest on, with their deliveries (one more
        round trip when the page has emails)."""
        emails = [load(Email, raw) for raw in self._redis.lrange(PREFIX + "outbox", start, start + size - 1)]
        if not emails:
            return emails
        deliveries = self._redis.hmget(DELIVERIES, [email.id for email in emails])
        return [
            dataclasses.replace(email, delivery=load(Delivery, raw)) if raw else email
            for email, raw in zip(emails, deliveries, strict=True)
        ]

    def email_count(self) -> int:
        return self._redis.llen(PREFIX + "outbox")

    def clear_outbox(self) -> None:
        self._redis.delete(PREFIX + "outbox", DELIVERIES)

    # Clock ------------------------------------------------------------------------------------

    def clock_offset(self, max_age: float = 0.0) -> float:
        tracked = self._tracked
        kept = tracked.get(CLOCK) if tracked is not None else None
        if kept is not None:
            return self._offset.set(float(kept))
        recent = self._offset.get(max_age) if max_age else None
        if recent is not None:
            return recent
        stamp = tracked.stamp() if tracked is not None else None
        offset = self._redis.get(CLOCK) or "0"
        if tracked is not None:
            tracked.keep(stamp, {CLOCK: offset})
        return self._offset.set(float(offset))

    def advance_clock(self, seconds: float) -> float:
        offset = self._offset.set(float(self._redis.incrbyfloat(CLOCK, seconds)))
        self._forget_tracked(CLOCK)
        return offset

    # API coverage -----------------------------------------------------------------------------

    def add_coverage(self, counts: Mapping[CoverageKey, int]) -> None:
        arguments: list[str | int] = []
        for key, requests in counts.items():
            arguments += [json.dumps(key), requests]
        self._add_coverage(keys=[COVERAGE], args=arguments)

    def coverage(self) -> dict[CoverageKey, int]:
        counts: dict[CoverageKey, int] = {}
        for field, requests in self._redis.hgetall(COVERAGE).items():
            operation, status, error_type = json.loads(field)
            counts[(operation, status, error_type)] = int(requests)
        return counts

    def clear_coverage(self) -> None:
        self._redis.delete(COVERAGE)

    # Housekeeping -----------------------------------------------------------------------------

    def purge(self, now: float, expired_token_memory: float) -> None:
        for value in self._redis.zrangebyscore(PREFIX + "access_expiry", "-inf", now - expired_token_memory):
            self.forget_access_token(value)
        for value in self._redis.zrangebyscore(PREFIX + "email_expiry", "-inf", now):
            self.spend_email_token(value)

    # Double opt-in and the mock identity provider ---------------------------------------------

    def activate_customer(self, tenant: str, customer_id: str) -> bool:
        key = self._customer_key(tenant, customer_id)

        def activate(pipe: Any) -> bool:
            raw = pipe.get(key)
            customer = load(Customer, raw) if raw else None
            if customer is None or customer.active:
                return False
            pipe.multi()
            pipe.set(key, dump(dataclasses.replace(customer, active=True)))
            return True

        return self._redis.transaction(activate, key, value_from_callable=True)

    def idp_signing_key(self, candidate: str) -> str:
        self._redis.set(IDP_SIGNING_KEY, candidate, nx=True)
        return self._redis.get(IDP_SIGNING_KEY) or candidate

    def add_authorization_code(self, code: AuthorizationCode, now: float) -> None:
        # Redis expires it on its own (a margin past its lifetime: the mock's clock may lag).
        ttl = max(1, int(code.expires_at - now)) + TTL_MARGIN
        self._redis.set(f"{PREFIX}idp_code:{code.value}", dump(code), ex=ttl)

    def spend_authorization_code(self, value: str) -> AuthorizationCode | None:
        raw = self._redis.getdel(f"{PREFIX}idp_code:{value}")
        return load(AuthorizationCode, raw) if raw else None


def _redis_failures() -> tuple[type[Exception], ...]:
    import redis

    return (redis.RedisError,)


guard_methods(RedisStore, _redis_failures(), KIND)
