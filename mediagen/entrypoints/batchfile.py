"""Reads a batch file: a JSON list, JSON lines of request objects, or plain prompts one per line."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mediagen.domain.errors import InvalidRequest, MediaGenError
from mediagen.domain.request import MediaRequest
from mediagen.entrypoints.tool import request_from_arguments

_JSON_LIST_START = re.compile(r"\[\s*(?:[{\]\"]|$)", re.MULTILINE)


def read_batch_file(path: Path, defaults: Mapping[str, Any]) -> list[MediaRequest]:
    """Every entry validated before anything is generated; an error names the line and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidRequest(f"cannot read {str(path)!r}: {exc.strerror}", field="file") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise InvalidRequest(
            f"{path.name} line {line}: byte 0x{exc.object[exc.start]:02x} is not UTF-8 text; save the file as UTF-8",
            field="file",
        ) from None
    entries = _entries(text, path)
    if not entries:
        raise InvalidRequest(f"{str(path)!r} holds no requests", field="file")
    requests = []
    for where, entry in entries:
        try:
            requests.append(request_from_arguments(entry, defaults=defaults))
        except MediaGenError as error:
            raise InvalidRequest(f"{path.name} {where}: {error.message}", field="file") from None
        except TypeError as error:
            raise InvalidRequest(f"{path.name} {where}: {error}", field="file") from None
    return requests


def _entries(text: str, path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(where, request object) pairs: `entry N` of a JSON list, else `line N`."""
    if _JSON_LIST_START.match(text.lstrip()):  # "[", "[{" or "[]" opens a JSON list; "[draft] a fox" is a prompt
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"{path.name} line {exc.lineno}: invalid JSON: {exc.msg}", field="file") from None
        if not isinstance(data, list):
            raise InvalidRequest(f"{path.name}: expected a JSON list of request objects", field="file")
        return [(f"entry {i + 1}", _object(item, f"entry {i + 1}", path)) for i, item in enumerate(data)]
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                entries.append((f"line {number}", _object(json.loads(line), f"line {number}", path)))
            except json.JSONDecodeError as exc:
                raise InvalidRequest(f"{path.name} line {number}: invalid JSON: {exc.msg}", field="file") from None
        else:
            entries.append((f"line {number}", {"prompt": line}))
    return entries


def _object(item: Any, where: str, path: Path) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidRequest(f"{path.name} {where}: expected an object with a prompt", field="file")
    return item
