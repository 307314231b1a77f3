"""Gemini chat history as continuation state: plain JSON (images base64, thought signatures kept), bounded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from mediagen.adapters.turns import TrimmedHistory, split_turns, trim_history
from mediagen.domain.errors import InvalidRequest
from mediagen.ports.continuation import ContinuationState

#: ContinuationState.kind of a Gemini image chat.
HISTORY_KIND = "gemini_chat"

__all__ = [
    "HISTORY_KIND",
    "RestoredHistory",
    "TrimmedHistory",
    "history_from_state",
    "history_state",
    "split_turns",
    "trim_history",
]


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
