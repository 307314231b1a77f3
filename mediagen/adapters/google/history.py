"""Gemini chat history as continuation state: plain JSON (images base64, thought signatures kept), bounded."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from mediagen.domain.errors import InvalidRequest
from mediagen.ports.continuation import ContinuationState

#: ContinuationState.kind of a Gemini image chat.
HISTORY_KIND = "gemini_chat"


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


def history_state(model: str, trimmed: TrimmedHistory, *, dropped_before: int) -> ContinuationState:
    """The state saved after a turn: the model, the kept contents, and how many turns were ever dropped."""
    data = {
        "model": model,
        "history": [dict(content) for content in trimmed.contents],
        "dropped_turns": dropped_before + trimmed.dropped_turns,
    }
    return ContinuationState(kind=HISTORY_KIND, data=data)


@attrs.frozen
class RestoredHistory:
    model: str
    contents: tuple[Mapping[str, Any], ...]
    dropped_turns: int


def history_from_state(state: ContinuationState) -> RestoredHistory:
    """Read a saved chat back; anything else (another backend's or another media's state) is an InvalidRequest."""
    if state.kind != HISTORY_KIND:
        raise InvalidRequest(
            f"this continuation is a {state.kind!r}, not a Gemini image chat; continue an image made by Gemini",
            field="continue_from",
        )
    history = state.data.get("history")
    if not isinstance(history, list) or not all(isinstance(c, Mapping) for c in history):
        raise InvalidRequest(
            "the saved Gemini chat is damaged (no history list); start a new image", field="continue_from"
        )
    dropped = state.data.get("dropped_turns", 0)
    return RestoredHistory(
        model=str(state.data.get("model", "")),
        contents=tuple(history),
        dropped_turns=dropped if isinstance(dropped, int) and not isinstance(dropped, bool) else 0,
    )
