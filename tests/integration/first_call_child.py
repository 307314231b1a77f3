"""A fresh interpreter's first generations on one backend, with asyncio debug on: prints the slow callbacks as JSON.

    python first_call_child.py [--warm-up] BACKEND [MEDIA_TYPE ...]

Run by test_first_call.py with a clean environment that turns sandbox mode on (MEDIAGEN_SANDBOX=1), so the
service is built, the sandbox started and the backend's SDK loaded exactly as an application embedding mediagen
gets them: `mediagen.open_service()` inside the running loop, then one `generate` per media type. With --warm-up,
the service warms the backend up at start (`open_service(warm_up=[BACKEND])`) and the child also reports the modules
its generations loaded: a warmed-up backend's first calls should load none.
"""

from __future__ import annotations

import asyncio
import json
import linecache
import logging
import sys

from mediagen import MediaRequest, MediaType, open_service

#: The threshold of record: a callback holding the loop longer than this fails the test.
SLOW_CALLBACK_SECONDS = 0.05


class SlowCallbacks(logging.Handler):
    """Collects asyncio's debug-mode warnings about callbacks that held the loop too long."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing ") and " took " in message:
            self.found.append(message)


async def first_calls(backend: str, media_types: list[MediaType], *, warm_up: bool) -> tuple[list[str], list[str]]:
    """What each generation made, and the modules the generations loaded (after the warm-up, if any)."""
    loop = asyncio.get_running_loop()
    loop.slow_callback_duration = SLOW_CALLBACK_SECONDS
    made = []
    async with open_service(warm_up=[backend] if warm_up else False) as service:
        before = set(sys.modules)
        for media_type in media_types:
            result = await service.generate(MediaRequest(media_type=media_type, prompt="a fox", backend=backend))
            made.append(f"{media_type.value}: {result.model} -> {result.artifact.mime_type}")
        loaded = sorted(set(sys.modules) - before)
    return made, loaded


class PillowImports:
    """Records which file imports Pillow (PIL), so a request without images can be checked not to load it."""

    def __init__(self) -> None:
        self.importers: list[str] = []

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "PIL":
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
                frame = frame.f_back  # type: ignore[assignment]
            self.importers.append(frame.f_code.co_filename if frame is not None else "?")
        return None  # the normal finders import it


def main() -> None:
    # asyncio's debug mode records where every future was made: a stack walk that stats each frame's source file
    # (linecache.checkcache) and reads the source lines of every frame whose file it has not read yet (getline),
    # dropping the GIL for each stat and each read. While another thread runs Python code (an SDK loading, a model
    # building, the in-process sandbox making its answer), every one of those takes the GIL back only after a switch
    # interval (5 ms), so the debug bookkeeping alone can make a step look 100 ms long. Neither the stat (it looks
    # for edited source files, which this process never has) nor the lines (only a traceback shows them) are the
    # service's work: both are skipped, so the slow callbacks found are the service's own steps.
    linecache.checkcache = lambda filename=None: None
    linecache.getline = lambda filename, lineno, module_globals=None: ""
    warm_up = sys.argv[1] == "--warm-up"
    args = sys.argv[2:] if warm_up else sys.argv[1:]
    backend, media_types = args[0], [MediaType(name) for name in args[1:]]
    slow = SlowCallbacks()
    pillow = PillowImports()
    sys.meta_path.insert(0, pillow)  # type: ignore[arg-type]
    logging.getLogger("asyncio").addHandler(slow)
    logging.getLogger("asyncio").setLevel(logging.WARNING)
    made, loaded = asyncio.run(first_calls(backend, media_types, warm_up=warm_up), debug=True)
    report = {"made": made, "slow_callbacks": slow.found, "pillow_imported_by": pillow.importers, "loaded": loaded}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
