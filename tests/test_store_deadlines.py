"""Deadlines of the store calls awaited on the event loop (credmock/store/deadlines.py): one
check per tick cuts the overdue calls short, as ``asyncio.timeout`` would."""

from __future__ import annotations

import asyncio

import pytest

from credmock.store.deadlines import Deadlines
from tests.test_store_from_loop import run


def test_a_call_past_its_deadline_ends_with_timeout_error_within_a_tick() -> None:
    async def main() -> float:
        deadlines = Deadlines(0.2)
        began = asyncio.get_running_loop().time()
        with pytest.raises(TimeoutError):
            await deadlines.within(asyncio.sleep(10))
        return asyncio.get_running_loop().time() - began

    waited = run(main())
    assert 0.2 <= waited < 0.2 + 0.1  # the deadline, and at most a tick (0.02 s) and some slack


def test_calls_in_time_answer_and_an_overdue_one_among_them_is_the_only_one_cut() -> None:
    async def answer(after: float, value: str) -> str:
        await asyncio.sleep(after)
        return value

    async def main() -> list[object]:
        deadlines = Deadlines(0.3)
        calls = [deadlines.within(answer(0.05 * i, f"answer {i}")) for i in range(4)]
        calls.append(deadlines.within(answer(5, "too late")))
        return await asyncio.gather(*calls, return_exceptions=True)

    results = run(main())
    assert results[:4] == ["answer 0", "answer 1", "answer 2", "answer 3"]
    assert isinstance(results[4], TimeoutError)


def test_a_cancelled_request_stays_cancelled_and_later_calls_still_have_their_deadline() -> None:
    """A request cancelled from outside (its client left) is not turned into a timeout; after a
    quiet spell with no call running, a new call is cut at its deadline again."""

    async def main() -> None:
        deadlines = Deadlines(0.2)
        task = asyncio.ensure_future(deadlines.within(asyncio.sleep(10)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.3)  # no call runs: the checks stop
        loop = asyncio.get_running_loop()
        began = loop.time()
        with pytest.raises(TimeoutError):
            await deadlines.within(asyncio.sleep(10))
        assert loop.time() - began < 0.3

    run(main())
