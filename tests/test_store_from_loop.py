"""How a request's rule calls a shared store from the event loop (credmock/store/from_loop.py):
the rule waits, the loop does not."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from credmock.store.from_loop import Threads, on_event_loop, run_in_portal, wait

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


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
        answer, _ = await asyncio.gather(run_in_portal(rule), other_request())
        return answer

    assert asyncio.run(main()) == "answer"
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
        assert await run_in_portal(rule) == "handled"
        with pytest.raises(ConnectionError, match="store gone"):
            await run_in_portal(rule_that_does_not_handle)

    asyncio.run(main())


def test_the_rule_shares_the_request_context_and_knows_it_is_on_the_loop() -> None:
    def rule() -> tuple[str, bool]:
        seen = REQUEST_ID.get()
        REQUEST_ID.set("set by the rule")  # the request sees what its rule set, as without a portal
        return seen, on_event_loop()

    async def main() -> tuple[tuple[str, bool], str]:
        REQUEST_ID.set("request 7")
        inside = await run_in_portal(rule)
        return inside, REQUEST_ID.get()

    (seen, on_loop), after = asyncio.run(main())
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
        return await run_in_portal(rule)

    try:
        thread, on_loop, request_id = asyncio.run(main())
    finally:
        threads.close()
    assert thread != loop_thread[0]
    assert on_loop is False  # the store thread calls the store's driver directly
    assert request_id == "request 8"
