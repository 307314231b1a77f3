"""Veo operations and downloadable files kept in the sandbox's state_dir, so another sandbox can continue them."""

from __future__ import annotations

import logging
import re
from typing import TypeVar

import cattrs
from cattrs.errors import BaseValidationError

from mediagen.sandbox.records import RecordStore

log = logging.getLogger("mediagen.sandbox")

#: `publishers/google/models/{model}/operations/{id}`: the names this fake gives Veo operations.
OPERATION_NAME = re.compile(r"publishers/google/models/[^/:]+/operations/([^/]+)")
OPERATIONS, FILES = "operations", "files"
converter = cattrs.Converter()
_Kept = TypeVar("_Kept")


def read(records: RecordStore, kind: str, record_id: str, cls: type[_Kept]) -> _Kept | None:
    """A record structured as `cls`; a missing, unsafe or malformed one is None (a malformed one is logged)."""
    record = records.load(kind, record_id)
    if record is None:
        return None
    try:
        return converter.structure(record.data, cls)
    except (BaseValidationError, KeyError, TypeError, ValueError) as exc:
        log.warning("sandbox record %s/%s is not a valid %s record, ignoring it: %s", kind, record_id, kind, exc)
        return None
