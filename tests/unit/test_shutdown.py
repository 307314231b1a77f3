"""close_at_shutdown: what belongs to an event loop is closed on that loop as asyncio.run shuts it down."""

from __future__ import annotations

import asyncio

from mediagen.application.shutdown import close_at_shutdown


def test_the_close_runs_on_its_loop_as_asyncio_run_shuts_it_down_not_before() -> None:
    closed_on: list[asyncio.AbstractEventLoop] = []
    kept = []

    async def close() -> None:
        await asyncio.sleep(0)  # it may await: the loop still runs
        closed_on.append(asyncio.get_running_loop())

    async def main() -> asyncio.AbstractEventLoop:
        kept.append(await close_at_shutdown(close))
        await asyncio.sleep(0)
        assert closed_on == []
        return asyncio.get_running_loop()

    loop = asyncio.run(main())
    assert closed_on == [loop]


def test_each_registration_closes_once() -> None:
    closes: list[str] = []

    async def main() -> list[object]:
        async def close(name: str) -> None:
            closes.append(name)

        return [await close_at_shutdown(lambda: close("a")), await close_at_shutdown(lambda: close("b"))]

    asyncio.run(main())
    assert sorted(closes) == ["a", "b"]
