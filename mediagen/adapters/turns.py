"""Bounding a chat kept as continuation state: whole turns dropped, oldest first, by count and by JSON size.

Shared by every adapter that keeps a conversation (Gemini's contents, OpenRouter's chat messages): both mark the
start of a turn with `role: "user"`. It depends on nothing vendor-specific.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs


@attrs.frozen
class TrimmedHistory:
    """The turns kept (a turn is a user content and the model contents that answer it) and what was dropped."""

    contents: tuple[Mapping[str, Any], ...]
    turns: int
    dropped_turns: int
    size_bytes: int


def split_turns(contents: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Group contents into turns, each starting at a user content."""
    turns: list[list[Mapping[str, Any]]] = []
    for content in contents:
        if content.get("role") == "user" or not turns:
            turns.append([content])
        else:
            turns[-1].append(content)
    return turns


def _size(turn: Sequence[Mapping[str, Any]]) -> int:
    return len(json.dumps(list(turn), separators=(",", ":")).encode())


def trim_history(contents: Sequence[Mapping[str, Any]], *, max_turns: int, max_bytes: int) -> TrimmedHistory:
    """Drop the oldest turns until at most `max_turns` turns and `max_bytes` of JSON remain; the newest always stays."""
    turns = split_turns(contents)
    sizes = [_size(turn) for turn in turns]
    start, total = 0, sum(sizes)
    while start < len(turns) - 1 and (len(turns) - start > max_turns or total > max_bytes):
        total -= sizes[start]
        start += 1
    kept = tuple(content for turn in turns[start:] for content in turn)
    return TrimmedHistory(kept, len(turns) - start, start, total)
