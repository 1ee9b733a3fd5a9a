"""Where the mock's state lives: one :class:`Store` interface, three implementations.

``--state`` names one: ``memory`` (the default, one process), ``sqlite:///PATH`` (a file that
survives restarts and is shared by the workers of one host) or ``redis://[:password@]HOST:PORT/DB``
(shared by instances on several machines). Each operation of the interface is atomic in its
store, by the store's own means; the rules (:mod:`credmock.domain`) are written once over it.

May import: :mod:`credmock.core` and :mod:`credmock.settings`; never the domain, mail or any layer
above, nor a web framework.
"""

from __future__ import annotations

from credmock.store.base import DEFAULT_TIMEOUT, Store, StoreError, describe_state, is_shared


def open_store(url: str, *, timeout: float = DEFAULT_TIMEOUT) -> Store:
    """The store ``url`` names, each of its calls bounded by ``timeout`` seconds (a shared store's
    connect, read or lock wait; past it the call raises :class:`StoreError`). ValueError for a
    URL that names no store, StoreError for a store that cannot be used (unreachable, read-only,
    corrupt, out of memory); neither shows the URL, which may hold a password."""
    if url == "memory":
        from credmock.store.memory import MemoryStore

        return MemoryStore()
    if url.startswith("sqlite://"):
        from credmock.store.sqlite import SqliteStore

        return SqliteStore.from_url(url, timeout=timeout)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from credmock.store.redis_store import RedisStore

        return RedisStore.from_url(url, timeout=timeout)
    raise ValueError("--state must be 'memory', 'sqlite:///PATH' or 'redis://[:password@]HOST:PORT/DB'")


__all__ = ["Store", "StoreError", "describe_state", "is_shared", "open_store"]
