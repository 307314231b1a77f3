"""settled: work that must end before its caller does is waited out through repeated cancels, never cancelled."""

from __future__ import annotations

import asyncio

from mediagen.application.cancels import settled


async def test_repeated_cancels_wait_for_the_work_which_is_never_cancelled_and_are_reported() -> None:
    loop = asyncio.get_running_loop()
    work: asyncio.Future[str] = loop.create_future()
    waiter = asyncio.ensure_future(settled(work))
    for _ in range(3):  # a second Ctrl-C, anyio's repeated cancels
        await asyncio.sleep(0)
        waiter.cancel()
    await asyncio.sleep(0)
    assert not waiter.done() and not work.cancelled()
    work.set_result("written")
    assert await waiter is True
    assert work.result() == "written"


async def test_without_a_cancel_it_reports_none() -> None:
    first, second = asyncio.ensure_future(asyncio.sleep(0)), asyncio.ensure_future(asyncio.sleep(0.01))
    assert await settled(first, second) is False
    assert first.done() and second.done()
