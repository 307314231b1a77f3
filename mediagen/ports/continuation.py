"""Where continuation state and long-running job records live between calls and processes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import attrs

#: The `kind` of records that describe a submitted long-running vendor job.
JOB_KIND = "job"
#: The `kind` of state a generator returns when the vendor keeps the state and its id suffices
#: (`data={"vendor_id": ...}`); the service then hands out `{backend}:{vendor id}` as the continuation id.
VENDOR_ID_KIND = "vendor_id"


@attrs.frozen
class ContinuationState:
    """Plain, serializable state a generator resumes from: JSON data plus optional bytes.

    Never a live SDK object, so every store can persist it across processes.
    """

    kind: str
    data: Mapping[str, Any] = attrs.field(factory=dict)
    blob: bytes | None = None


@attrs.frozen
class ContinuationRecord:
    id: str
    backend: str
    state: ContinuationState
    created_at: float
    expires_at: float | None = None


class ContinuationStore(Protocol):
    """Continuation records. A store may also offer:
    - `async def open(self) -> None`, which connects ahead of the first use (what a save needs); `MediaService.warm_up`
      and the first generation call it when present;
    - `async def warm_up(self) -> None`, which also readies what a load or a listing needs; `MediaService.warm_up`
      calls it when present;
    - `def save_blocking(self, backend: str, state: ContinuationState) -> str`, what `save` does, blocking, for a
      worker thread once the store is open: with a sink that offers `write_and_keep`, the service saves the
      continuation in the worker-thread job that writes the file, so the two cost one thread hop."""

    async def save(self, backend: str, state: ContinuationState) -> str:
        """Persist `state`; return its new id, `{backend}_{kind}_{uuid12}`."""
        ...

    async def load(self, continuation_id: str) -> ContinuationRecord | None:
        """The record, or None when unknown or expired."""
        ...

    async def delete(self, continuation_id: str) -> None:
        """Forget a record; unknown ids are not an error."""
        ...

    async def records(self, kind: str | None = None) -> list[ContinuationRecord]:
        """Live records, newest first, optionally only of one kind (e.g. JOB_KIND)."""
        ...

    async def aclose(self) -> None: ...
