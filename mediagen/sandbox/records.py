"""Vendor-side records as files under `state_dir/<vendor>/<kind>/<id>.json`, one file per record, written
atomically, so sandboxes in several processes that share the directory see each other's responses and jobs."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from mediagen.sandbox.vendor import FakeContext

log = logging.getLogger("mediagen.sandbox")

#: What a record id may look like: letters, digits, `_` and `-` (no dots, no separators), so it is always a plain
#: file name inside its kind's directory and can never reach outside it.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,159}")
_FORMAT = 1


def is_safe_id(value: object) -> bool:
    """Whether `value` can name a record file: a short string of letters, digits, `_` and `-`."""
    return isinstance(value, str) and SAFE_ID.fullmatch(value) is not None


@attrs.frozen
class Record:
    """A stored record: its JSON data and, when it has one, its binary attachment (e.g. an image's bytes)."""

    data: dict[str, Any]
    blob: bytes | None = attrs.field(default=None, repr=lambda b: "None" if b is None else f"<{len(b)} bytes>")


class RecordStore:
    """One vendor's records under `root`: `<kind>/<id>.json`, plus `<kind>/<id>.bin` for an attachment.

    Every write goes to a temporary file first and is moved into place with os.replace, so a reader in another
    process sees a whole record or none; the attachment is written before the JSON that names it.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def of(cls, context: FakeContext) -> RecordStore | None:
        """The store for a fake's vendor under the sandbox's `state_dir`, or None when state lives in memory only."""
        state_dir = context.settings.state_dir
        return None if state_dir is None else cls(state_dir / context.vendor)

    def save(self, kind: str, record_id: str, data: Mapping[str, Any], *, blob: bytes | None = None) -> None:
        """Write (or replace) one record; an id that is not a safe file name is a ValueError."""
        directory = self._directory(kind, record_id)
        directory.mkdir(parents=True, exist_ok=True)
        attachment = None
        if blob is not None:
            _write_atomically(directory / f"{record_id}.bin", blob)
            attachment = {"sha256": hashlib.sha256(blob).hexdigest(), "size": len(blob)}
        document = {"format": _FORMAT, "kind": kind, "id": record_id, "data": dict(data), "blob": attachment}
        _write_atomically(directory / f"{record_id}.json", json.dumps(document, separators=(",", ":")).encode())

    def load(self, kind: str, record_id: str) -> Record | None:
        """The record, or None when there is none, its id is not a safe file name, or it cannot be read whole."""
        if not is_safe_id(record_id):
            return None
        directory = self._directory(kind, record_id)
        path = directory / f"{record_id}.json"
        try:
            document = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("sandbox record %s is unreadable, ignoring it: %s", path, exc)
            return None
        if not isinstance(document, dict) or document.get("format") != _FORMAT or document.get("id") != record_id:
            log.warning("sandbox record %s is not a format-%d record for %r, ignoring it", path, _FORMAT, record_id)
            return None
        data, attachment = document.get("data"), document.get("blob")
        if not isinstance(data, dict):
            return None
        if attachment is None:
            return Record(data)
        try:
            blob = (directory / f"{record_id}.bin").read_bytes()
        except OSError as exc:
            log.warning("sandbox record %s lost its attachment, ignoring it: %s", path, exc)
            return None
        if not isinstance(attachment, dict) or hashlib.sha256(blob).hexdigest() != attachment.get("sha256"):
            log.warning("sandbox record %s does not match its attachment, ignoring it", path)
            return None
        return Record(data, blob)

    def delete(self, kind: str, record_id: str) -> None:
        """Remove a record and its attachment, if they exist."""
        if not is_safe_id(record_id):
            return
        directory = self._directory(kind, record_id)
        for suffix in (".json", ".bin"):  # the JSON first: without it the attachment is never read
            with contextlib.suppress(FileNotFoundError):
                (directory / f"{record_id}{suffix}").unlink()

    def _directory(self, kind: str, record_id: str) -> Path:
        if not is_safe_id(kind):
            raise ValueError(f"record kind {kind!r} is not a safe directory name")
        if not is_safe_id(record_id):
            raise ValueError(f"record id {record_id!r} is not a safe file name (letters, digits, _ and - only)")
        return self.root / kind


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then move it over `path` in one step."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
