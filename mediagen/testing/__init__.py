"""The testing kit: fakes of every port, small real media, hypothesis strategies and contract suites.

Importing it loads neither pytest nor hypothesis: the contract suites and strategies load on first use
(`mediagen.testing.MediaGeneratorContract`, or import `mediagen.testing.generator_contract` directly).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mediagen.testing.fakes import (
    FakeGenerator,
    MemorySink,
    RecordingListener,
    StaticCredentials,
    fake_plugin,
    fake_spec,
)
from mediagen.testing.media import mp4_stub, png, wav

if TYPE_CHECKING:
    from mediagen.testing.generator_contract import MediaGeneratorContract, default_requests
    from mediagen.testing.store_contract import ContinuationStoreContract, FakeClock
    from mediagen.testing.strategies import invalid_request_kwargs, valid_requests

__all__ = [
    "ContinuationStoreContract",
    "FakeClock",
    "FakeGenerator",
    "MediaGeneratorContract",
    "MemorySink",
    "RecordingListener",
    "StaticCredentials",
    "default_requests",
    "fake_plugin",
    "fake_spec",
    "invalid_request_kwargs",
    "mp4_stub",
    "png",
    "valid_requests",
    "wav",
]

# Names whose modules import pytest or hypothesis, loaded only when asked for.
_LAZY = {
    "MediaGeneratorContract": "mediagen.testing.generator_contract",
    "default_requests": "mediagen.testing.generator_contract",
    "ContinuationStoreContract": "mediagen.testing.store_contract",
    "FakeClock": "mediagen.testing.store_contract",
    "invalid_request_kwargs": "mediagen.testing.strategies",
    "valid_requests": "mediagen.testing.strategies",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
