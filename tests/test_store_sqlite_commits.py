"""A SQLite store keeps the access tokens it has read until the next commit to its file, by any
process (credmock/store/sqlite_commits.py): a logout, a reset or a clock move made by another
process is seen by the very next request, and a token checked again meanwhile costs no statement."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from credmock.core.models import AccessToken
from credmock.http.state_calls import StateCalls
from credmock.store.sqlite import SqliteStore
from credmock.store.sqlite_commits import HEADER, CommitMark, KeptUntilCommit
from tests.test_store_from_loop import run


def anonymous(value: str) -> AccessToken:
    return AccessToken(
        value=value, tenant="demo", kind="anonymous", issued_at=0.0, expires_at=10**10, session_id="s1",
        customer_id=None, scopes=(), refresh_token=None, legal_entity_id=None,
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path):
    store = SqliteStore(tmp_path / "state.db", timeout=5.0)
    store.add_tenant("demo")
    assert store.add_access_token(anonymous("token-1"))
    yield store
    store.close()


def in_another_process(path: Path, *statements: str) -> None:
    """Run ``statements`` against the file from another process, each committed on its own."""
    script = (
        "import sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)\n"
        "for statement in sys.argv[2:]:\n"
        "    db.execute(statement)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path), *statements], check=True, timeout=30)


# Prints "busy log checkpointed": busy is 1 when a reader keeps the WAL from being truncated.
CHECKPOINT = (
    "import sqlite3, sys\n"
    "db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)\n"
    "print(*db.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchone())\n"
)


def statements_of(store: SqliteStore, read: callable) -> list[str]:
    """The SQL statements the store's connection runs for ``read()``."""
    seen: list[str] = []
    store._db.set_trace_callback(seen.append)
    try:
        read()
    finally:
        store._db.set_trace_callback(None)
    return seen


def test_sqlite_writes_the_wal_index_header_this_module_reads(store) -> None:
    """The WAL-index layout (format 3007000, two equal copies, isInit) is SQLite's documented file
    format. A SQLite that changed it would give no mark, and every token check would read the
    file again: this test names that."""
    mark = CommitMark(store.path)
    try:
        assert mark.read() is not None, f"SQLite {sqlite3.sqlite_version} writes another WAL-index header"
    finally:
        mark.close()


def test_the_mark_changes_with_another_process_commit_and_only_then(store) -> None:
    mark = CommitMark(store.path)
    try:
        before = mark.read()
        assert before is not None
        store.customers("demo")  # a read commits nothing
        in_another_process(store.path, "DELETE FROM access_tokens WHERE value = 'no such token'")
        assert mark.read() == before  # a transaction that changed nothing
        in_another_process(store.path, "DELETE FROM access_tokens WHERE value = 'token-1'")
        assert mark.read() != before
    finally:
        mark.close()


def test_closing_a_second_store_on_the_file_leaves_the_locks_sqlite_holds(store) -> None:
    """Closing any descriptor of a file drops every POSIX lock the process holds on it: a store
    closed beside another on the same file must not take the read locks of the one still open.
    A reader in the middle of a read transaction keeps another process from truncating the WAL."""
    in_another_process(store.path, "INSERT INTO tenants (name) VALUES ('shop')")  # frames in the WAL
    reader = sqlite3.connect(store.path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM tenants").fetchall()  # holds its snapshot

    SqliteStore(store.path, timeout=5.0).close()

    checkpoint = subprocess.run(
        [sys.executable, "-c", CHECKPOINT, str(store.path)], capture_output=True, text=True, check=True
    )
    assert checkpoint.stdout.split()[0] == "1"  # busy: the reader's lock held
    reader.execute("COMMIT")
    reader.close()


def test_a_header_being_written_gives_no_mark(tmp_path: Path) -> None:
    """A writer updates the header's second copy, then its first: a reader between the two finds
    them different and must keep nothing."""
    written = (3007000).to_bytes(4, sys.byteorder) + bytes(8) + b"\x01" + bytes(HEADER - 13)
    index = tmp_path / "state.db-shm"
    index.write_bytes(written + written + bytes(32768 - 2 * HEADER))
    mark = CommitMark(tmp_path / "state.db")
    try:
        assert mark.read() == written
        with index.open("r+b") as rewrite:  # in place, as SQLite writes it
            rewrite.seek(HEADER + 20)
            rewrite.write(b"\xff")
        assert mark.read() is None
    finally:
        mark.close()


def test_an_index_not_set_up_gives_no_mark(tmp_path: Path) -> None:
    (tmp_path / "state.db-shm").write_bytes(b"")
    mark = CommitMark(tmp_path / "state.db")
    assert mark.read() is None
    mark.close()
    assert CommitMark(tmp_path / "absent.db").read() is None


def test_a_kept_token_is_checked_again_without_a_statement(store) -> None:
    assert store.access_token("token-1") is not None
    assert statements_of(store, lambda: store.access_token("token-1")) == []
    store.advance_clock(5)  # a commit: the next check reads the file again
    assert statements_of(store, lambda: store.access_token("token-1")) != []


def test_a_token_forgotten_by_another_process_is_refused_at_once(store) -> None:
    for _ in range(3):
        assert store.access_token("token-1") is not None
    in_another_process(store.path, "DELETE FROM access_tokens WHERE value = 'token-1'")
    assert store.access_token("token-1") is None


def test_a_token_added_by_another_process_is_accepted_at_once(store) -> None:
    assert store.access_token("token-2") is None  # an unknown token is kept too
    other = SqliteStore(store.path, timeout=5.0)
    try:
        assert other.add_access_token(anonymous("token-2"))
    finally:
        other.close()
    assert store.access_token("token-2") == anonymous("token-2")


def test_the_clock_moved_by_another_process_comes_with_a_kept_token(store) -> None:
    store.access_token("token-1")
    assert store.clock_offset(max_age=60) == 0.0
    in_another_process(store.path, "INSERT INTO meta VALUES ('clock_offset', 86400.0)")
    store.access_token("token-1")
    assert store.clock_offset(max_age=60) == 86400.0


def test_a_rule_that_has_written_reads_its_own_uncommitted_logout(store) -> None:
    """Within a rule run directly on the loop, writes wait uncommitted until it ends: the file's
    header has not changed yet, so the kept token must not answer for it."""

    def rule() -> AccessToken | None:
        assert store.access_token("token-1") is not None  # kept
        store.forget_access_token("token-1")
        return store.access_token("token-1")

    async def main() -> AccessToken | None:
        return await StateCalls(blocking=True, end_direct_rule=store.end_direct_rule).run(rule)

    assert run(main()) is None
    assert store.access_token("token-1") is None


def test_kept_values_are_bounded() -> None:
    kept: KeptUntilCommit[int] = KeptUntilCommit()
    for number in range(KeptUntilCommit.KEPT + 10):
        kept.keep(f"made-up-{number}", b"mark", number)
    assert len(kept._values) <= KeptUntilCommit.KEPT
    assert kept.get(f"made-up-{KeptUntilCommit.KEPT + 9}", b"mark") == KeptUntilCommit.KEPT + 9
    assert kept.get(f"made-up-{KeptUntilCommit.KEPT + 9}", b"another mark") is None
    assert kept.get(f"made-up-{KeptUntilCommit.KEPT + 9}", None) is None
