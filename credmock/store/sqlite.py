"""State in a SQLite file (stdlib ``sqlite3``, WAL): it survives restarts, and the workers of one
host share it.

Atomicity is SQLite's: each operation is one statement or one ``BEGIN IMMEDIATE`` transaction
(which takes the write lock first, so processes queue on SQLite's busy timeout instead of
failing), and the rules that must hold across processes are constraints of the schema: one
login email per tenant (UNIQUE), one live email token per customer and purpose (UNIQUE, so
``INSERT OR REPLACE`` swaps it), a token spent by the ``DELETE`` or ``UPDATE`` that changed a row.
Records are JSON; the columns that are searched are kept beside them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

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
    dump,
    guard_methods,
    load,
)
from credmock.store.from_loop import Threads, WouldWait, can_wait, on_event_loop
from credmock.store.sqlite_commits import CommitMark, KeptUntilCommit

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS tenants (position INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL, id TEXT NOT NULL, email_key TEXT NOT NULL, record TEXT NOT NULL,
    UNIQUE (tenant, id), UNIQUE (tenant, email_key)
);
CREATE TABLE IF NOT EXISTS access_tokens (
    value TEXT PRIMARY KEY, refresh_token TEXT UNIQUE, tenant TEXT NOT NULL, customer_id TEXT,
    session_id TEXT NOT NULL, expires_at REAL NOT NULL, record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS access_tokens_by_customer ON access_tokens (tenant, customer_id);
CREATE INDEX IF NOT EXISTS access_tokens_by_expiry ON access_tokens (expires_at);
CREATE TABLE IF NOT EXISTS email_tokens (
    value TEXT PRIMARY KEY, tenant TEXT NOT NULL, customer_id TEXT NOT NULL, purpose TEXT NOT NULL,
    expires_at REAL NOT NULL, record TEXT NOT NULL, UNIQUE (tenant, customer_id, purpose)
);
CREATE TABLE IF NOT EXISTS outbox (position INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (email_id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idp_codes (value TEXT PRIMARY KEY, expires_at REAL NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS idp_keys (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
# The condition under which a token is stored: an anonymous one (no customer), or its customer
# exists (parameters: customer id, tenant, customer id), so a reset never leaves a token behind.
CUSTOMER_EXISTS = "? IS NULL OR EXISTS (SELECT 1 FROM customers WHERE tenant = ? AND id = ?)"
# What a reset empties (idp_keys, the identity provider's signing key, is kept).
TABLES = (
    "meta", "tenants", "customers", "access_tokens", "email_tokens", "outbox", "deliveries", "idp_codes"
)
KIND = "SQLite"
# The methods that only read. In a rule run directly on the event loop, any other method takes
# the write lock for the rest of the rule first (a method missing here only takes it needlessly).
READS = frozenset(
    {
        "is_filled",
        "tenants",
        "customer",
        "customer_by_email",
        "customers",
        "customer_count",
        "access_token",
        "access_token_of_refresh_token",
        "email_token",
        "email_page",
        "email_count",
        "clock_offset",
        "coverage",
    }
)
T = TypeVar("T")
PAGE = 200
FIRST_PAGE = 8
# The API coverage counts: beside the state (not in TABLES, so a reset leaves them), created on
# first use so a file written by an older credmock gains the table too.
COVERAGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS coverage (
    operation TEXT NOT NULL, status INTEGER NOT NULL, error_type TEXT NOT NULL, requests INTEGER NOT NULL,
    PRIMARY KEY (operation, status, error_type)
)
"""


class SqliteStore:
    def __init__(self, path: Path, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """The store of the file ``path``: a write waits ``timeout`` seconds at most for another
        process's transaction. A file that cannot be written or is damaged is refused here, at
        start, rather than on the first request that needs it."""
        self.path = path
        self.timeout = timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._offset = RecentOffset()
        self._access_tokens = ParsedAccessTokens()
        self._threads = Threads()
        self._commits: CommitMark | None = None
        self._kept_tokens: KeptUntilCommit[tuple[AccessToken | None, float]] = KeptUntilCommit()
        try:
            damage = self._db.execute("PRAGMA quick_check(1)").fetchone()[0]
            if damage != "ok":  # SQLite's words, over lines: one line here
                where = " ".join(damage.replace("*** in database main ***", "").split())
                raise StoreError(f"the SQLite state file is damaged ({where})", kind=KIND)
            with self._write() as connection:
                connection.executescript(SCHEMA)  # commits; harmless when the tables exist
            with self._write() as connection:  # a write that leaves nothing: is the file writable?
                connection.execute("INSERT OR REPLACE INTO meta VALUES ('write_check', 1)")
                connection.execute("DELETE FROM meta WHERE key = 'write_check'")
            if self._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                self._commits = CommitMark(path)
        except sqlite3.Error as error:
            self.close()
            raise StoreError(f"cannot use the SQLite state file: {error}", kind=KIND) from None
        except StoreError:
            self.close()
            raise

    @classmethod
    def from_url(cls, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> SqliteStore:
        """``sqlite:///state.db`` (relative to the working folder) or ``sqlite:////var/credmock.db``."""
        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
        if not path or path.endswith("/"):
            raise ValueError(
                "--state sqlite:///PATH needs a file path: sqlite:///state.db (relative) "
                "or sqlite:////var/lib/credmock/state.db (absolute)"
            )
        return cls(Path(path), timeout=timeout)

    # Connections and transactions -------------------------------------------------------------

    @property
    def _db(self) -> sqlite3.Connection:
        """This thread's connection (a sqlite3 connection belongs to its thread); for a request's
        rule on the event loop (:meth:`_from_loop`), its connection that never waits for a lock."""
        local = self._local
        if on_event_loop():
            connection = getattr(local, "connection_without_waiting", None)
            if connection is None:
                connection = local.connection_without_waiting = self._connect(timeout=0.0)
            return connection
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = self._connect(timeout=self.timeout)
        return connection

    def _connect(self, *, timeout: float) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a commit survives the process being killed; only a power cut may lose the last ones.
        connection.execute("PRAGMA synchronous=NORMAL")
        with self._connections_lock:
            self._connections.append(connection)
        return connection

    def _from_loop(self, name: str, function: Callable[..., T], args: tuple, kwargs: dict[str, Any]) -> T:
        """A call from a request on the event loop: run at once when the file is free (each
        method is one statement or one transaction that takes the write lock first, so a call
        refused for a lock has changed nothing), else on a thread that waits for the lock up to
        the deadline.

        In a rule run directly on the loop (no portal: it cannot wait), the first call that
        writes takes the write lock for the rest of the rule (:meth:`end_direct_rule` commits),
        so only that first step can be refused for a lock, while the rule has changed nothing:
        then :class:`WouldWait`, and the rule runs again in its portal."""
        try:
            if not can_wait() and name not in READS:
                connection = self._db
                if not connection.in_transaction:
                    connection.execute("BEGIN IMMEDIATE")
            return function(*args, **kwargs)
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise
            if not can_wait():
                if self._db.in_transaction:  # the rule has written: it cannot start over
                    raise
                raise WouldWait from None
        return self._threads.run(function, *args, **kwargs)

    def end_direct_rule(self) -> None:
        """Commit what a rule run directly on the event loop wrote: one transaction."""
        connection = getattr(self._local, "connection_without_waiting", None)
        if connection is None or not connection.in_transaction:
            return
        try:
            connection.execute("COMMIT")
        finally:
            if connection.in_transaction:  # the commit failed: nothing of the rule is kept
                connection.execute("ROLLBACK")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction holding the write lock from its first statement; within the
        transaction of a rule run directly on the loop, a savepoint of it."""
        connection = self._db
        if connection.in_transaction:
            connection.execute("SAVEPOINT credmock_write")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK TO credmock_write")
                connection.execute("RELEASE credmock_write")
                raise
            connection.execute("RELEASE credmock_write")
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        if connection.in_transaction:
            connection.execute("COMMIT")

    def _one(self, query: str, *parameters: object) -> tuple | None:
        rows = self._db.execute(query, parameters).fetchall()  # all: the statement ends here
        return rows[0] if rows else None

    def close(self) -> None:
        self._threads.close()
        with self._connections_lock:
            for connection in self._connections:
                with contextlib.suppress(sqlite3.ProgrammingError):  # another thread's, ended
                    connection.close()
            self._connections.clear()
        self._local = threading.local()
        if self._commits is not None:  # after the connections: see sqlite_commits
            self._commits.close()

    # Lifecycle --------------------------------------------------------------------------------

    def is_filled(self) -> bool:
        return self._one("SELECT 1 FROM meta WHERE key = 'filled'") is not None

    def fill(self, tenants: list[str], customers: list[Customer], *, replace: bool) -> bool:
        with self._write() as connection:
            if replace:
                for table in TABLES:
                    connection.execute(f"DELETE FROM {table}")
            if connection.execute("INSERT OR IGNORE INTO meta VALUES ('filled', 1)").rowcount == 0:
                return False
            connection.executemany("INSERT OR IGNORE INTO tenants (name) VALUES (?)", [(t,) for t in tenants])
            for customer in customers:
                self._insert_customer(connection, customer)
        if replace:
            self._offset.set(0.0)
        return True

    # Tenants and customers --------------------------------------------------------------------

    def add_tenant(self, name: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO tenants (name) VALUES (?)", (name,))

    def tenants(self) -> list[str]:
        return [name for (name,) in self._db.execute("SELECT name FROM tenants ORDER BY position")]

    def add_customer(self, customer: Customer) -> str | None:
        try:
            with self._write() as connection:
                self._insert_customer(connection, customer)
        except sqlite3.IntegrityError as error:
            return "email" if "email_key" in str(error) else "id"
        return None

    @staticmethod
    def _insert_customer(connection: sqlite3.Connection, customer: Customer) -> None:
        connection.execute("INSERT OR IGNORE INTO tenants (name) VALUES (?)", (customer.tenant,))
        connection.execute(
            "INSERT INTO customers (tenant, id, email_key, record) VALUES (?, ?, ?, ?)",
            (customer.tenant, customer.id, email_key(customer.email), dump(customer)),
        )

    def customer(self, tenant: str, customer_id: str) -> Customer | None:
        row = self._one("SELECT record FROM customers WHERE tenant = ? AND id = ?", tenant, customer_id)
        return load(Customer, row[0]) if row else None

    def customer_by_email(self, tenant: str, email: str) -> Customer | None:
        row = self._one(
            "SELECT record FROM customers WHERE tenant = ? AND email_key = ?", tenant, email_key(email)
        )
        return load(Customer, row[0]) if row else None

    def customers(self, tenant: str) -> list[Customer]:
        rows = self._db.execute("SELECT record FROM customers WHERE tenant = ? ORDER BY position", (tenant,))
        return [load(Customer, record) for (record,) in rows]

    def customer_count(self) -> int:
        return self._one("SELECT COUNT(*) FROM customers")[0]  # type: ignore[index]

    def set_password_hash(
        self, tenant: str, customer_id: str, password_hash: str, *, replacing: str | None = None
    ) -> bool:
        changed = self._db.execute(
            "UPDATE customers SET record = json_set(record, '$.password_hash', ?, "
            "'$.initial_password', json('false')) "
            "WHERE tenant = ? AND id = ? AND (? IS NULL OR json_extract(record, '$.password_hash') = ?)",
            (password_hash, tenant, customer_id, replacing, replacing),
        )
        return changed.rowcount == 1

    def change_login_email(
        self, tenant: str, customer_id: str, new_email: str, *, sync_contact_email: bool
    ) -> bool:
        contact = "$.contact_email" if sync_contact_email else "$.email"  # the second path is a no-op
        try:
            changed = self._db.execute(
                "UPDATE customers SET email_key = ?, "
                f"record = json_set(record, '$.email', ?, '{contact}', ?, "
                "'$.version', json_extract(record, '$.version') + 1) WHERE tenant = ? AND id = ?",
                (email_key(new_email), new_email, new_email, tenant, customer_id),
            ).rowcount
        except sqlite3.IntegrityError:  # UNIQUE (tenant, email_key): another customer has it
            return False
        return changed == 1

    def record_login(self, tenant: str, customer_id: str, at: float) -> bool:
        changed = self._db.execute(
            "UPDATE customers SET record = json_set(record, '$.last_login', ?) WHERE tenant = ? AND id = ?",
            (at, tenant, customer_id),
        )
        return changed.rowcount == 1

    def replace_profile(self, updated: Customer, *, version: int) -> bool:
        changed = self._db.execute(
            "UPDATE customers SET record = json_set(record, '$.first_name', ?, '$.last_name', ?, "
            "'$.contact_email', ?, '$.profile', json(?), '$.version', ?) "
            "WHERE tenant = ? AND id = ? AND json_extract(record, '$.version') = ?",
            (
                updated.first_name,
                updated.last_name,
                updated.contact_email,
                dump(updated.profile),
                version + 1,
                updated.tenant,
                updated.id,
                version,
            ),
        )
        return changed.rowcount == 1

    # Access tokens ----------------------------------------------------------------------------

    def add_access_token(self, token: AccessToken) -> bool:
        added = self._db.execute(
            f"INSERT INTO access_tokens SELECT ?, ?, ?, ?, ?, ?, ? WHERE {CUSTOMER_EXISTS}",
            (
                token.value,
                token.refresh_token,
                token.tenant,
                token.customer_id,
                token.session_id,
                token.expires_at,
                dump(token),
                token.customer_id,
                token.tenant,
                token.customer_id,
            ),
        )
        return added.rowcount == 1

    def access_token(self, value: str) -> AccessToken | None:
        """The token, and the clock's offset in the same statement (see the Redis store); both
        kept until the next commit to the file, by any process (a storefront sends the same token
        with every request). A rule that has written reads its own uncommitted state instead."""
        mark = None
        if self._commits is not None and not self._db.in_transaction:
            mark = self._commits.read()
        kept = self._kept_tokens.get(value, mark)
        if kept is None:
            record, offset = self._one(  # type: ignore[misc]
                "SELECT (SELECT record FROM access_tokens WHERE value = ?), "
                "(SELECT value FROM meta WHERE key = 'clock_offset')",
                value,
            )
            kept = (self._access_tokens.load(record) if record else None, float(offset or 0.0))
            self._kept_tokens.keep(value, mark, kept)
        token, offset = kept
        self._offset.set(offset)
        return token

    def access_token_of_refresh_token(self, refresh_token: str) -> AccessToken | None:
        row = self._one("SELECT record FROM access_tokens WHERE refresh_token = ?", refresh_token)
        return self._access_tokens.load(row[0]) if row else None

    def spend_refresh_token(self, refresh_token: str) -> bool:
        spent = self._db.execute(
            "UPDATE access_tokens SET refresh_token = NULL WHERE refresh_token = ?", (refresh_token,)
        )
        return spent.rowcount == 1

    def forget_access_tokens(self, tenant: str, customer_id: str, session_id: str | None = None) -> None:
        if session_id is None:
            query, parameters = "tenant = ? AND customer_id = ?", (tenant, customer_id)
        else:
            query = "tenant = ? AND customer_id = ? AND session_id = ?"
            parameters = (tenant, customer_id, session_id)
        self._db.execute(f"DELETE FROM access_tokens WHERE {query}", parameters)

    def forget_access_token(self, value: str) -> None:
        self._db.execute("DELETE FROM access_tokens WHERE value = ?", (value,))

    # Email tokens -----------------------------------------------------------------------------

    def replace_email_token(self, token: EmailToken) -> bool:
        # REPLACE deletes the row holding UNIQUE (tenant, customer_id, purpose): the previous token.
        replaced = self._db.execute(
            f"INSERT OR REPLACE INTO email_tokens SELECT ?, ?, ?, ?, ?, ? WHERE {CUSTOMER_EXISTS}",
            (
                token.value,
                token.tenant,
                token.customer_id,
                token.purpose,
                token.expires_at,
                dump(token),
                token.customer_id,
                token.tenant,
                token.customer_id,
            ),
        )
        return replaced.rowcount == 1

    def email_token(self, value: str) -> EmailToken | None:
        row = self._one("SELECT record FROM email_tokens WHERE value = ?", value)
        return load(EmailToken, row[0]) if row else None

    def spend_email_token(self, value: str) -> bool:
        return self._db.execute("DELETE FROM email_tokens WHERE value = ?", (value,)).rowcount == 1

    # Outbox -----------------------------------------------------------------------------------

    def add_email(self, email: Email, capacity: int) -> None:
        with self._write() as connection:
            if email.delivery is not None:
                connection.execute(
                    "INSERT OR REPLACE INTO deliveries VALUES (?, ?)", (email.id, dump(email.delivery))
                )
                email = dataclasses.replace(email, delivery=None)
            position = connection.execute("INSERT INTO outbox (record) VALUES (?)", (dump(email),)).lastrowid
            fallen = ((position or 0) - capacity,)
            connection.execute(
                "DELETE FROM deliveries WHERE email_id IN "
                "(SELECT json_extract(record, '$.id') FROM outbox WHERE position <= ?)",
                fallen,
            )
            connection.execute("DELETE FROM outbox WHERE position <= ?", fallen)

    def set_delivery(self, email_id: str, delivery: Delivery) -> None:
        self._db.execute("UPDATE deliveries SET record = ? WHERE email_id = ?", (dump(delivery), email_id))

    def emails(self) -> Iterator[Email]:
        """Newest first, read a page at a time, small pages first (most callers want the newest)."""
        before, size = None, FIRST_PAGE
        while True:
            page, before = self.email_page(before, size)
            yield from page
            if len(page) < size:
                return
            size = min(size * 4, PAGE)

    def email_page(self, before: int | None, size: int) -> tuple[list[Email], int | None]:
        """Up to ``size`` emails older than position ``before`` (None: the newest), newest first,
        and the position of the last one (where the next page starts)."""
        rows = self._db.execute(
            "SELECT position, outbox.record, deliveries.record FROM outbox LEFT JOIN deliveries "
            "ON deliveries.email_id = json_extract(outbox.record, '$.id') "
            "WHERE ? IS NULL OR position < ? ORDER BY position DESC LIMIT ?",
            (before, before, size),
        ).fetchall()
        page = []
        for position, record, delivery in rows:
            before = position
            email = load(Email, record)
            page.append(dataclasses.replace(email, delivery=load(Delivery, delivery)) if delivery else email)
        return page, before

    def email_count(self) -> int:
        return self._one("SELECT COUNT(*) FROM outbox")[0]  # type: ignore[index]

    def clear_outbox(self) -> None:
        with self._write() as connection:
            connection.execute("DELETE FROM outbox")
            connection.execute("DELETE FROM deliveries")

    # Clock ------------------------------------------------------------------------------------

    def clock_offset(self, max_age: float = 0.0) -> float:
        recent = self._offset.get(max_age) if max_age else None
        if recent is not None:
            return recent
        row = self._one("SELECT value FROM meta WHERE key = 'clock_offset'")
        return self._offset.set(float(row[0]) if row else 0.0)

    def advance_clock(self, seconds: float) -> float:
        row = self._one(
            "INSERT INTO meta VALUES ('clock_offset', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value RETURNING value",
            float(seconds),
        )
        return self._offset.set(float(row[0]))  # type: ignore[index]

    # API coverage -----------------------------------------------------------------------------

    _has_coverage_table = False

    def _coverage_table(self) -> None:
        if not self._has_coverage_table:
            self._db.execute(COVERAGE_SCHEMA)
            self._has_coverage_table = True

    def add_coverage(self, counts: Mapping[CoverageKey, int]) -> None:
        self._coverage_table()
        with self._write() as connection:
            connection.executemany(
                "INSERT INTO coverage VALUES (?, ?, ?, ?) ON CONFLICT (operation, status, error_type) "
                "DO UPDATE SET requests = requests + excluded.requests",
                [(*key, requests) for key, requests in counts.items()],
            )

    def coverage(self) -> dict[CoverageKey, int]:
        self._coverage_table()
        rows = self._db.execute("SELECT operation, status, error_type, requests FROM coverage").fetchall()
        return {(operation, status, error_type): requests for operation, status, error_type, requests in rows}

    def clear_coverage(self) -> None:
        self._coverage_table()
        self._db.execute("DELETE FROM coverage")

    # Housekeeping -----------------------------------------------------------------------------

    def purge(self, now: float, expired_token_memory: float) -> None:
        with self._write() as connection:
            connection.execute("DELETE FROM email_tokens WHERE expires_at <= ?", (now,))
            connection.execute(
                "DELETE FROM access_tokens WHERE expires_at <= ?", (now - expired_token_memory,)
            )

    # Double opt-in and the mock identity provider ---------------------------------------------

    def activate_customer(self, tenant: str, customer_id: str) -> bool:
        cursor = self._db.execute(
            "UPDATE customers SET record = json_set(record, '$.active', json('true')) "
            "WHERE tenant = ? AND id = ? AND json_extract(record, '$.active') = 0",
            (tenant, customer_id),
        )
        return cursor.rowcount == 1

    def idp_signing_key(self, candidate: str) -> str:
        row = self._one(
            "INSERT INTO idp_keys VALUES ('signing', ?) ON CONFLICT (name) DO UPDATE SET value = value "
            "RETURNING value",
            candidate,
        )
        return str(row[0])  # type: ignore[index]

    def add_authorization_code(self, code: AuthorizationCode, now: float) -> None:
        with self._write() as connection:
            connection.execute("DELETE FROM idp_codes WHERE expires_at <= ?", (now,))
            connection.execute(
                "INSERT OR REPLACE INTO idp_codes VALUES (?, ?, ?)", (code.value, code.expires_at, dump(code))
            )

    def spend_authorization_code(self, value: str) -> AuthorizationCode | None:
        row = self._one("DELETE FROM idp_codes WHERE value = ? RETURNING record", value)
        return load(AuthorizationCode, row[0]) if row else None

guard_methods(SqliteStore, (sqlite3.Error,), KIND)
