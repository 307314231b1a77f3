"""Where a batch runs: in the service's own event loop (the default), or item by item on a cluster."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from mediagen.domain.request import MediaRequest
from mediagen.domain.result import BatchResult
from mediagen.ports.progress import ProgressListener


class BatchEngine(Protocol):
    """Runs each request of a batch somewhere else with the same settings; results in request order, each
    failure in its own item, progress (`Written` or `Failed`, with the item's index) as items finish."""

    async def run(
        self, requests: Sequence[MediaRequest], *, settings: Any, progress: ProgressListener
    ) -> BatchResult: ...
