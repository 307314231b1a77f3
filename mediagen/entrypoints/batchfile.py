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
    return [request for _, request in read_batch_entries(path, defaults)]


def read_batch_entries(path: Path, defaults: Mapping[str, Any]) -> list[tuple[str, MediaRequest]]:
    """(where, request) pairs, `where` being `entry N` of a JSON list or `line N`; see `read_batch_file`."""
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
            requests.append((where, request_from_arguments(entry, defaults=defaults)))
        except MediaGenError as error:
            hint = ""
            if getattr(error, "field", None) == "media_type" and "media_type" not in defaults:
                hint = "; set media_type in the entry or give the batch a type (--type)"
            raise InvalidRequest(f"{path.name} {where}: {error.message}{hint}", field="file") from None
        except TypeError as error:
            raise InvalidRequest(f"{path.name} {where}: {error}", field="file") from None
    return requests


def _entries(text: str, path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(where, request object) pairs: `entry N` of a JSON list, else `line N`."""
    if _JSON_LIST_START.match(text.lstrip()):  # "[", "[{" or "[]" opens a JSON list; "[draft] a fox" is a prompt
        try:
            data = _json(text, path, "")
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
                where = f"line {number}"
                entries.append((where, _object(_json(line, path, f" {where}"), where, path)))
            except json.JSONDecodeError as exc:
                raise InvalidRequest(f"{path.name} line {number}: invalid JSON: {exc.msg}", field="file") from None
        else:
            entries.append((f"line {number}", {"prompt": line}))
    return entries


def _json(text: str, path: Path, where: str) -> Any:
    """json.loads, with nesting too deep to parse named as what it is."""
    try:
        return json.loads(text, parse_int=_integer)
    except RecursionError:
        raise InvalidRequest(
            f"{path.name}{where}: the JSON is nested too deeply to read; a request object needs only a few levels",
            field="file",
        ) from None


def _integer(text: str) -> int | float:
    """An integer of more digits than Python converts (sys.get_int_max_str_digits) becomes an infinite float, so
    the request refuses it naming its field, as it does any number too large."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _object(item: Any, where: str, path: Path) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidRequest(f"{path.name} {where}: expected an object with a prompt", field="file")
    return item
