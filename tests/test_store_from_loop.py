"""How a request's rule calls a shared store from the event loop (credmock/store/from_loop.py):
the rule waits, the loop does not."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from credmock.store.from_loop import Portal, Threads, on_event_loop, wait

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def run(main: Any) -> Any:
    """``asyncio.run(main)`` on a thread of its own, as a server's loop runs: this test process
    may have a loop running on its main thread already (the browser tests' driver)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, main).result()


def test_a_rule_waits_while_the_loop_serves_others() -> None:
    """While a rule waits for its store, another task on the same loop runs to its end."""
    order: list[str] = []

    async def slow_store_answer() -> str:
        await asyncio.sleep(0.05)
        order.append("store answered")
        return "answer"

    def rule() -> str:
        order.append("rule asked")
        answer = wait(slow_store_answer())
        order.append("rule resumed")
        return answer

    async def other_request() -> None:
        await asyncio.sleep(0.01)
        order.append("other request served")

    async def main() -> str:
        answer, _ = await asyncio.gather(Portal().run(rule), other_request())
        return answer

    assert run(main()) == "answer"
    assert order == ["rule asked", "other request served", "store answered", "rule resumed"]


def test_a_failure_of_the_store_is_raised_in_the_rule_which_may_handle_it() -> None:
    async def failing() -> None:
        await asyncio.sleep(0)
        raise ConnectionError("store gone")

    def rule() -> str:
        with pytest.raises(ConnectionError, match="store gone"):
            wait(failing())
        return "handled"

    def rule_that_does_not_handle() -> None:
        wait(failing())

    async def main() -> None:
        assert await Portal().run(rule) == "handled"
        with pytest.raises(ConnectionError, match="store gone"):
            await Portal().run(rule_that_does_not_handle)

    run(main())


def test_the_rule_shares_the_request_context_and_knows_it_is_on_the_loop() -> None:
    def rule() -> tuple[str, bool]:
        seen = REQUEST_ID.get()
        REQUEST_ID.set("set by the rule")  # the request sees what its rule set, as without a portal
        return seen, on_event_loop()

    async def main() -> tuple[tuple[str, bool], str]:
        REQUEST_ID.set("request 7")
        inside = await Portal().run(rule)
        return inside, REQUEST_ID.get()

    (seen, on_loop), after = run(main())
    assert (seen, on_loop) == ("request 7", True)
    assert after == "set by the rule"
    assert not on_event_loop()  # outside any request


def test_a_call_handed_to_the_store_threads_runs_off_the_loop_and_calls_the_store_directly() -> None:
    threads = Threads(threads=2)
    loop_thread: list[int] = []

    def blocking_call() -> tuple[int, bool, str]:
        return threading.get_ident(), on_event_loop(), REQUEST_ID.get()

    def rule() -> tuple[int, bool, str]:
        loop_thread.append(threading.get_ident())
        return threads.run(blocking_call)

    async def main() -> tuple[int, bool, str]:
        REQUEST_ID.set("request 8")
        return await Portal().run(rule)

    try:
        thread, on_loop, request_id = run(main())
    finally:
        threads.close()
    assert thread != loop_thread[0]
    assert on_loop is False  # the store thread calls the store's driver directly
    assert request_id == "request 8"


def test_each_request_sees_its_own_context_in_a_runner_used_before() -> None:
    """Rule runners are reused from request to request; a request's context variables never
    reach the next one."""

    portal = Portal()

    def rule() -> str:
        return REQUEST_ID.get()

    async def request(request_id: str | None) -> str:
        if request_id is not None:
            REQUEST_ID.set(request_id)
        return await portal.run(rule)

    async def main() -> list[str]:
        seen = []
        for request_id in ("a", None, "c"):  # one after another: each reuses the same runner
            seen.append(await asyncio.create_task(request(request_id)))
        return seen

    assert run(main()) == ["a", "none", "c"]


def test_a_request_cancelled_while_its_rule_waits_leaves_the_next_ones_working() -> None:
    async def never() -> None:
        await asyncio.sleep(60)

    def waiting_rule() -> None:
        wait(never())

    def failing_rule() -> None:
        raise ValueError("the rule's own error")

    portal = Portal()

    async def main() -> int:
        cancelled = asyncio.create_task(portal.run(waiting_rule))
        await asyncio.sleep(0.01)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        with pytest.raises(ValueError, match="the rule's own error"):
            await portal.run(failing_rule)
        return await portal.run(lambda: 42)

    assert run(main()) == 42
