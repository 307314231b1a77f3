"""Vendor-side records as files under `state_dir/<vendor>/<kind>/<id>.json`, one file per record, written
atomically, so sandboxes in several processes that share the directory see each other's responses and jobs."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import stat
import tempfile
import time
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
#: The files a store writes in a kind's directory: records, attachments, and the temporary files (as mkstemp names
#: them) they are written to before being moved into place.
_RECORD_FILE = re.compile(rf"(?P<id>{SAFE_ID.pattern})\.(?P<suffix>json|bin)")
_TEMPORARY_FILE = re.compile(rf"\.{SAFE_ID.pattern}\.(?:json|bin)\.[A-Za-z0-9_]+\.tmp")


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

    def ids(self, kind: str) -> list[str]:
        """The ids of a kind's records (those whose JSON is in place), sorted; none when the kind has no directory."""
        if not is_safe_id(kind):
            raise ValueError(f"record kind {kind!r} is not a safe directory name")
        found = (_RECORD_FILE.fullmatch(entry.name) for entry in _entries(self.root / kind))
        return sorted(match["id"] for match in found if match is not None and match["suffix"] == "json")

    def delete(self, kind: str, record_id: str) -> None:
        """Remove a record and its attachment, if they exist."""
        if not is_safe_id(record_id):
            return
        directory = self._directory(kind, record_id)
        for suffix in (".json", ".bin"):  # the JSON first: without it the attachment is never read
            with contextlib.suppress(FileNotFoundError):
                (directory / f"{record_id}{suffix}").unlink()

    def prune(self, max_age: float, *, now: float | None = None) -> int:
        """Remove the records last written more than `max_age` seconds before `now` (default: the current time),
        with their attachments, and temporary files as old; return how many files went.

        Safe while other processes use the store: a file that vanishes meanwhile is skipped, a fresh file (such as
        an attachment whose JSON is still being written) is kept, directories stay (another process may be about to
        write into one), and symlinks and files a store does not write are never touched or followed.
        """
        cutoff = (time.time() if now is None else now) - max_age
        removed = 0
        for kind in _entries(self.root):
            if is_safe_id(kind.name) and kind.is_dir(follow_symlinks=False):
                removed += _prune_kind(Path(kind.path), cutoff)
        log.debug("sandbox state %s: removed %d files older than %g seconds", self.root, removed, max_age)
        return removed

    def _directory(self, kind: str, record_id: str) -> Path:
        if not is_safe_id(kind):
            raise ValueError(f"record kind {kind!r} is not a safe directory name")
        if not is_safe_id(record_id):
            raise ValueError(f"record id {record_id!r} is not a safe file name (letters, digits, _ and - only)")
        return self.root / kind


def _prune_kind(directory: Path, cutoff: float) -> int:
    """Remove a kind's files written before `cutoff`: records first, then attachments whose record is gone too."""
    records: dict[str, float] = {}
    attachments: dict[str, float] = {}
    temporary: dict[str, float] = {}
    for entry in _entries(directory):
        written = _written(entry)
        if written is None:  # vanished, or not a regular file (a symlink, a directory)
            continue
        if found := _RECORD_FILE.fullmatch(entry.name):
            (records if found["suffix"] == "json" else attachments)[found["id"]] = written
        elif _TEMPORARY_FILE.fullmatch(entry.name):
            temporary[entry.name] = written
    expired = [f"{record_id}.json" for record_id, written in records.items() if written < cutoff]
    # An attachment goes only with its record, or alone when it has none; a fresh one is kept even without its
    # record, since a save writes the attachment before the record.
    expired += [
        f"{record_id}.bin"
        for record_id, written in attachments.items()
        if written < cutoff and (record_id not in records or records[record_id] < cutoff)
    ]
    expired += [name for name, written in temporary.items() if written < cutoff]
    return sum(_remove_if_older(directory / name, cutoff) for name in expired)


def _entries(directory: Path) -> list[os.DirEntry[str]]:
    """A directory's entries, none when it does not exist (yet, or any more)."""
    try:
        with os.scandir(directory) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _written(entry: os.DirEntry[str]) -> float | None:
    """When a regular file was last written; None for anything else or a file that is gone."""
    try:
        status = entry.stat(follow_symlinks=False)
    except FileNotFoundError:
        return None
    return status.st_mtime if stat.S_ISREG(status.st_mode) else None


def _remove_if_older(path: Path, cutoff: float) -> bool:
    """Unlink a regular file still last written before `cutoff` (another process may have rewritten it since it
    was listed); False when it was not removed."""
    try:
        status = path.stat(follow_symlinks=False)
        if not stat.S_ISREG(status.st_mode) or status.st_mtime >= cutoff:
            return False
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:  # e.g. a directory this user may not write; pruning is housekeeping, the sandbox runs on
        log.warning("sandbox state file %s could not be removed: %s", path, exc)
        return False
    return True


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
