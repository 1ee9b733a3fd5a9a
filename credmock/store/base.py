"""The store interface the domain is written against, and what its implementations share."""

from __future__ import annotations

import builtins
import dataclasses
import functools
import inspect
import json
import math
import re
import sys
import time
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, TypeVar

from credmock.core.coverage import CoverageKey
from credmock.core.exceptions import ServiceUnavailable
from credmock.core.identity import AuthorizationCode
from credmock.core.messages import Delivery, Email
from credmock.core.models import AccessToken, Customer, EmailToken
from credmock.store.from_loop import on_event_loop

T = TypeVar("T")


class StoreError(ServiceUnavailable):
    """The store cannot be reached or used: at start, the reason the server cannot start; on a
    request, its 503 (:class:`ServiceUnavailable`). ``str()`` is the reason, for the log; the
    client's message names only the store's kind. Neither ever holds the store's URL."""

    def __init__(self, reason: str, *, kind: str = "state") -> None:
        super().__init__(f"The {kind} store of this mock is not available; try again shortly.", reason=reason)
        self.kind = kind

    def __str__(self) -> str:
        return self.reason


# Seconds a store call may take (connect, read, wait for another process's lock) by default.
DEFAULT_TIMEOUT = 2.0


class Store(Protocol):
    """The mock's state. Every method is atomic on its own, across threads and, for the shared
    stores, across processes: a rule that must not be split (spend a token once, take an email
    that may be taken meanwhile) is one method here."""

    # Lifecycle --------------------------------------------------------------------------------
    def is_filled(self) -> bool:
        """Whether a fill (:meth:`fill`) has happened since the store was created or reset."""

    def fill(self, tenants: list[str], customers: list[Customer], *, replace: bool) -> bool:
        """In one atomic step, as seen by every process: hold these tenants and customers (the
        fixtures) and count as filled. With ``replace`` (a reset), everything else is forgotten
        first: customers, tokens, outbox, clock offset. Without, only an empty store is filled:
        False (nothing changed) when it was filled already."""

    def close(self) -> None: ...

    # Tenants and customers --------------------------------------------------------------------
    def add_tenant(self, name: str) -> None: ...

    def tenants(self) -> list[str]:
        """Tenant names in the order they were added."""

    def add_customer(self, customer: Customer) -> str | None:
        """Store a new customer; ``"email"`` or ``"id"`` when one is taken (nothing stored)."""

    def customer(self, tenant: str, customer_id: str) -> Customer | None: ...

    def customer_by_email(self, tenant: str, email: str) -> Customer | None:
        """The customer whose login email is ``email``, compared by ``email_address.email_key``."""

    def customers(self, tenant: str) -> list[Customer]:
        """The tenant's customers in the order they were added."""

    def customer_count(self) -> int: ...

    def set_password_hash(
        self, tenant: str, customer_id: str, password_hash: str, *, replacing: str | None = None
    ) -> bool:
        """Store the new hash, a password the customer chose (no longer an initial one); with
        ``replacing``, only if the current hash is that one (a password changed meanwhile wins).
        False when nothing changed."""

    def change_login_email(
        self, tenant: str, customer_id: str, new_email: str, *, sync_contact_email: bool
    ) -> bool:
        """Move the customer to ``new_email`` (the profile's version goes up by one); False
        (nothing changed) when another customer has it."""

    def record_login(self, tenant: str, customer_id: str, at: float) -> bool:
        """The customer last logged in at ``at`` (the profile's version stays: a login is no
        change of it); False when the customer is gone."""

    def replace_profile(self, updated: Customer, *, version: int) -> bool:
        """Store the names, contact email and profile of ``updated`` (never its login email,
        password or flags) at version ``version + 1``, if the stored customer is still at
        ``version``; False (nothing changed) when it is not, or is gone."""

    # Access tokens ----------------------------------------------------------------------------
    def add_access_token(self, token: AccessToken) -> bool:
        """Store ``token``; a customer token only while its customer exists (False, nothing
        stored, when a reset removed the customer meanwhile)."""

    def access_token(self, value: str) -> AccessToken | None: ...

    def access_token_of_refresh_token(self, refresh_token: str) -> AccessToken | None: ...

    def spend_refresh_token(self, refresh_token: str) -> bool:
        """True for exactly one caller: the refresh token is then spent."""

    def forget_access_tokens(self, tenant: str, customer_id: str, session_id: str | None = None) -> None:
        """Forget the customer's access tokens (of one session, when given) and their refresh tokens."""

    def forget_access_token(self, value: str) -> None: ...

    # Email tokens -----------------------------------------------------------------------------
    def replace_email_token(self, token: EmailToken) -> bool:
        """Store ``token``; the customer's previous token of the same purpose stops working.
        False (nothing stored) when the customer no longer exists."""

    def email_token(self, value: str) -> EmailToken | None: ...

    def spend_email_token(self, value: str) -> bool:
        """True for exactly one caller: the token is then spent."""

    # Outbox -----------------------------------------------------------------------------------
    def add_email(self, email: Email, capacity: int) -> None:
        """Keep ``email`` (and its ``delivery``, when it has one), and only the newest ``capacity``
        emails."""

    def set_delivery(self, email_id: str, delivery: Delivery) -> None:
        """The new status of an email's SMTP delivery; nothing when the email is gone (fell off
        the outbox, or a reset) or was kept without a delivery."""

    def emails(self) -> Iterator[Email]:
        """Newest first, each with its delivery."""

    def email_count(self) -> int: ...

    def clear_outbox(self) -> None: ...

    # Clock ------------------------------------------------------------------------------------
    def clock_offset(self, max_age: float = 0.0) -> float:
        """The shared clock's offset; with ``max_age``, possibly as this process read it up to
        that many seconds ago (its own advances and resets are always seen)."""

    def advance_clock(self, seconds: float) -> float:
        """Add ``seconds`` to the shared clock offset; the new offset."""

    # API coverage -----------------------------------------------------------------------------
    # Requests counted by (operationId, status, error type or ""), for GET /_mock/coverage. Kept
    # beside the state, not in it: a reset of the state (fill) leaves them; clear_coverage clears.
    def add_coverage(self, counts: Mapping[CoverageKey, int]) -> None:
        """Add ``counts`` to the kept counts, in one atomic step."""

    def coverage(self) -> dict[CoverageKey, int]: ...

    def clear_coverage(self) -> None: ...

    # Housekeeping -----------------------------------------------------------------------------
    def purge(self, now: float, expired_token_memory: float) -> None:
        """Drop email tokens expired at ``now`` and access tokens expired longer than
        ``expired_token_memory`` seconds."""

    # Double opt-in and the mock identity provider ---------------------------------------------
    def activate_customer(self, tenant: str, customer_id: str) -> bool:
        """Mark an inactive customer active; False (nothing changed) when it is active or gone."""

    def idp_signing_key(self, candidate: str) -> str:
        """The identity provider's signing key: the one kept, else ``candidate``, kept now (of
        several processes asking at once, one key wins for all). Kept across resets, so clients'
        cached keys (JWKS) stay valid."""

    def add_authorization_code(self, code: AuthorizationCode, now: float) -> None:
        """Keep ``code`` until it is spent or expires (codes expired at ``now`` are dropped)."""

    def spend_authorization_code(self, value: str) -> AuthorizationCode | None:
        """The code, for exactly one caller (then it is spent); None when unknown or spent."""


def guard_methods(cls: type, failures: tuple[type[Exception], ...], kind: str) -> None:
    """Make every public method of the store class ``cls`` (generators too, while they are read)
    raise :class:`StoreError` with the reason instead of one of the driver's ``failures``.

    A call made from a request on the event loop (:func:`~credmock.store.from_loop.on_event_loop`)
    goes through the store's ``_from_loop(name, method, args, kwargs)``, which decides how it may
    wait. A generator is not dispatched itself: it reads page after page through a public method
    of its own, which is."""

    def reported(error: Exception) -> StoreError:
        return StoreError(f"the {kind} store failed: {describe_failure(error)}", kind=kind)

    def guarded(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                if on_event_loop():
                    return args[0]._from_loop(name, method, args, kwargs)
                return method(*args, **kwargs)
            except failures as error:
                raise reported(error) from None

        return call

    def guarded_iterator(method: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
        @functools.wraps(method)
        def read(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from method(*args, **kwargs)
            except failures as error:
                raise reported(error) from None

        return read

    for name, method in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(method):
            if inspect.isgeneratorfunction(method):
                setattr(cls, name, guarded_iterator(method))
            else:
                setattr(cls, name, guarded(name, method))


# host:port (or [v6]:port), as drivers write it into their messages.
_ADDRESS = re.compile(r"(\[[0-9a-fA-F:.]+\]|[\w.-]+):\d+")


def describe_failure(error: Exception) -> str:
    """What went wrong, in the driver's words, without an address it wrote into them."""
    text = str(error)
    if "connecting to" in text:  # redis-py: "Error 111 connecting to HOST:PORT. Connection refused."
        return text.split(". ")[-1].rstrip(".")
    text = _ADDRESS.sub("the server", text).rstrip(".")
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class RecentOffset:
    """The clock offset as this process last read or wrote it, and when: a shared store answers
    :meth:`Store.clock_offset` with ``max_age`` from it without a round trip. One tuple, replaced
    whole: a reader never sees a value with another reading's time."""

    def __init__(self) -> None:
        self._reading = (0.0, -math.inf)  # (offset, time.monotonic() of the read)

    def get(self, max_age: float) -> float | None:
        value, at = self._reading
        return value if time.monotonic() - at <= max_age else None

    def set(self, value: float) -> float:
        self._reading = (value, time.monotonic())
        return value


# How many access tokens (or values read with them) a process keeps at most, in each of its
# caches; past it a cache is emptied and filled again, so made-up tokens cannot grow it.
KEPT_TOKENS = 4096


class ParsedAccessTokens:
    """Access tokens as a shared store read them, by their JSON: a token's record never changes
    (it is only added and forgotten), so the same text always gives an equal, frozen AccessToken,
    parsed once while it is in use."""

    KEPT = KEPT_TOKENS

    def __init__(self) -> None:
        self._tokens: dict[str, AccessToken] = {}

    def load(self, text: str) -> AccessToken:
        token = self._tokens.get(text)
        if token is None:
            token = load(AccessToken, text)
            if len(self._tokens) >= self.KEPT:
                self._tokens.clear()
            self._tokens[text] = token
        return token


def is_shared(url: str) -> bool:
    """Whether the store of ``url`` can be shared by several processes."""
    return url != "memory"


def describe_state(url: str) -> str:
    """The store, as the banner names it: its kind, never its URL (which may hold a password)."""
    if url == "memory":
        return "memory (this process only; lost at exit)"
    if url.startswith("sqlite"):
        return "SQLite file (kept across restarts, shared by this host's workers)"
    return "Redis (shared by every instance using it)"


# Records as JSON, for the stores that keep text -------------------------------------------------


def dump(record: Any) -> str:
    return json.dumps(dataclasses.asdict(record), separators=(",", ":"))


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """The field types of ``cls``; a name only imported for type checking counts as ``Any``."""
    hints = _HINTS.get(cls)
    if hints is None:
        try:
            hints = typing.get_type_hints(cls)
        except NameError:
            hints = typing.get_type_hints(cls, localns=_NamesOrAny(vars(sys.modules[cls.__module__])))
        _HINTS[cls] = hints
    return hints


class _NamesOrAny(dict):
    """The names of a module, then the builtins; any other name is ``Any``."""

    def __init__(self, module: dict[str, Any]) -> None:
        super().__init__()
        self.module = module

    def __missing__(self, key: str) -> Any:
        if key in self.module:
            return self.module[key]
        return getattr(builtins, key, Any)


# How each field of a record class is rebuilt from JSON: as read, as a tuple, as a record, or as
# a list of records (a customer's addresses). Worked out once per class.
_AS_READ, _TUPLE, _RECORD, _RECORDS = range(4)
_PLANS: dict[type, tuple[tuple[str, int, Any], ...]] = {}


def _plan(cls: type) -> tuple[tuple[str, int, Any], ...]:
    plan = _PLANS.get(cls)
    if plan is None:
        hints = _hints(cls)
        steps = []
        for field in dataclasses.fields(cls):  # type: ignore[arg-type]
            hint = hints[field.name]
            origin = typing.get_origin(hint)
            if dataclasses.is_dataclass(hint):
                steps.append((field.name, _RECORD, hint))
            elif origin is tuple or (
                origin in (typing.Union, types.UnionType)
                and any(typing.get_origin(arg) is tuple for arg in typing.get_args(hint))
            ):
                steps.append((field.name, _TUPLE, None))
            elif origin is list and dataclasses.is_dataclass((typing.get_args(hint) or (Any,))[0]):
                steps.append((field.name, _RECORDS, typing.get_args(hint)[0]))
            else:
                steps.append((field.name, _AS_READ, None))
        plan = _PLANS[cls] = tuple(steps)
    return plan


def load(cls: type[T], text: str | bytes) -> T:
    return _from_dict(cls, json.loads(text))


def _from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """``cls`` from the dict :func:`dump` wrote: tuples and nested records rebuilt, unknown keys
    (a field a newer version added) ignored."""
    values = {}
    for name, kind, record in _plan(cls):
        if name not in data:
            continue
        value = data[name]
        if kind == _TUPLE:
            if isinstance(value, list):
                value = tuple(value)
        elif kind == _RECORD:
            if isinstance(value, dict):
                value = _from_dict(record, value)
        elif kind == _RECORDS and isinstance(value, list):
            value = [_from_dict(record, entry) for entry in value]
        values[name] = value
    return cls(**values)
