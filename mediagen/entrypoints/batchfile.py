"""Reads a batch file: a JSON list, JSON lines of request objects, or plain prompts one per line."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mediagen.domain.errors import InvalidRequest, MediaGenError
from mediagen.domain.request import MediaRequest
from mediagen.entrypoints.tool import request_from_arguments


def read_batch_file(path: Path, defaults: Mapping[str, Any]) -> list[MediaRequest]:
    """Every entry validated before anything is generated; an error names the line and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidRequest(f"cannot read {str(path)!r}: {exc.strerror}", field="file") from None
    entries = _entries(text, path)
    if not entries:
        raise InvalidRequest(f"{str(path)!r} holds no requests", field="file")
    requests = []
    for line, entry in entries:
        try:
            requests.append(request_from_arguments(entry, defaults=defaults))
        except MediaGenError as error:
            raise InvalidRequest(f"{path.name} line {line}: {error.message}", field="file") from None
        except TypeError as error:
            raise InvalidRequest(f"{path.name} line {line}: {error}", field="file") from None
    return requests


def _entries(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"{path.name} line {exc.lineno}: invalid JSON: {exc.msg}", field="file") from None
        return [(i + 1, _object(item, i + 1, path)) for i, item in enumerate(data)]
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                entries.append((number, _object(json.loads(line), number, path)))
            except json.JSONDecodeError as exc:
                raise InvalidRequest(f"{path.name} line {number}: invalid JSON: {exc.msg}", field="file") from None
        else:
            entries.append((number, {"prompt": line}))
    return entries


def _object(item: Any, line: int, path: Path) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidRequest(f"{path.name} entry {line}: expected an object with a prompt", field="file")
    return item
