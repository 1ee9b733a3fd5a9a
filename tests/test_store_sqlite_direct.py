"""A rule over SQLite runs directly on the event loop (credmock/http/state_calls.py,
credmock/store/sqlite.py): its writes are one transaction, committed when it ends; a rule whose
first write meets another process's lock starts over in its portal and takes effect once."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import threading
from pathlib import Path

import pytest

from credmock.core.messages import Email
from credmock.http.state_calls import StateCalls
from credmock.store.from_loop import can_wait
from credmock.store.sqlite import SqliteStore
from tests.test_store_from_loop import run


def email(number: int) -> Email:
    return Email(
        id=f"email-{number}", tenant="demo", to="someone@example.com", kind="password-reset",
        subject="Reset", body="body", token=f"token-{number}", link="", customer_id="c1", sent_at=0.0,
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path):
    store = SqliteStore(tmp_path / "state.db", timeout=5.0)
    yield store
    store.close()


def outside_view(store: SqliteStore) -> sqlite3.Connection:
    """Another connection to the file, as another process would read it."""
    return sqlite3.connect(store.path, isolation_level=None, timeout=0, check_same_thread=False)


def test_another_process_sees_all_of_a_rule_or_none_of_it(store) -> None:
    other = outside_view(store)
    seen_while_running: list[int] = []

    def rule() -> bool:
        store.add_email(email(1), capacity=10)
        store.add_email(email(2), capacity=10)
        seen_while_running.append(other.execute("SELECT count(*) FROM outbox").fetchone()[0])
        return can_wait()

    async def main() -> bool:
        return await StateCalls(blocking=True, end_direct_rule=store.end_direct_rule).run(rule)

    assert run(main()) is False  # ran directly on the loop: it could not have waited
    assert seen_while_running == [0]
    assert other.execute("SELECT count(*) FROM outbox").fetchone()[0] == 2


def test_a_rule_that_fails_after_writing_keeps_its_writes_and_leaves_the_file_free(store) -> None:
    def rule() -> None:
        store.add_email(email(1), capacity=10)
        raise ValueError("the rule's own failure")

    async def main() -> None:
        with pytest.raises(ValueError, match="own failure"):
            await StateCalls(blocking=True, end_direct_rule=store.end_direct_rule).run(rule)

    run(main())
    other = outside_view(store)
    assert other.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
    other.execute("BEGIN IMMEDIATE")  # no lock is left held: this would fail at once
    other.execute("ROLLBACK")


def test_a_rule_whose_first_write_meets_a_lock_starts_over_in_its_portal_and_takes_effect_once(store) -> None:
    holder = outside_view(store)
    holder.execute("BEGIN IMMEDIATE")  # another process's write lock
    attempts: list[bool] = []
    served_meanwhile: list[str] = []

    def rule() -> int:
        attempts.append(can_wait())
        store.customer_by_email("demo", "nobody@example.com")  # a read passes the lock (WAL)
        store.add_email(email(1), capacity=10)
        store.add_email(email(2), capacity=10)
        return store.email_count()

    async def other_request() -> None:
        await asyncio.sleep(0.05)
        served_meanwhile.append("served while the rule waited")

    async def main() -> int:
        threading.Timer(0.3, holder.execute, args=("COMMIT",)).start()
        calls = StateCalls(blocking=True, end_direct_rule=store.end_direct_rule)
        count, _ = await asyncio.gather(calls.run(rule), other_request())
        return count

    assert run(main()) == 2
    assert attempts == [False, True]  # directly first, then in the portal, where it waited
    assert served_meanwhile == ["served while the rule waited"]
    assert store.email_count() == 2


def test_coverage_counts_written_while_another_process_holds_the_lock_are_all_kept(store) -> None:
    """The counts' write starts directly on the loop, meets the lock, and starts over in its
    portal: it takes the counts again instead of losing them on the way."""
    from credmock.observe.coverage import Coverage
    from credmock.observe.exchanges import Exchange

    holder = outside_view(store)
    holder.execute("BEGIN IMMEDIATE")
    calls = StateCalls(blocking=True, end_direct_rule=store.end_direct_rule)
    coverage = Coverage(store, (), shared=True, run=calls.run)
    answered = Exchange(method="POST", path="/x", time=0.0, started=0.0, status=204, contract=True)

    async def main() -> None:
        for _ in range(3):  # counted on the loop, as requests are
            coverage.record(dataclasses.replace(answered, operation_id="reset-password"))
        threading.Timer(0.3, holder.execute, args=("COMMIT",)).start()
        await calls.run(coverage.flush)

    run(main())
    assert store.coverage() == {("reset-password", 204, ""): 3}
