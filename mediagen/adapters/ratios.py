"""Snapping what a request asks to what a model takes: the nearest allowed aspect ratio, the size tier that covers
the size, a named choice spelled as the vendor spells it.

Shared by the adapters whose models take an aspect ratio and a size tier (1K, 2K, ...) instead of pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from mediagen.domain.request import MediaRequest, Size

#: Nominal long side of each image size tier.
TIER_PIXELS: Final = {"0.5K": 512, "1K": 1024, "2K": 2048, "4K": 4096}


def ratio_value(text: str) -> float:
    """The width / height of a W:H spelling, fractions included ("19.5:9")."""
    width, _, height = text.partition(":")
    return float(width) / float(height)


def nearest_ratio(ratio: float, allowed: Sequence[str]) -> str:
    """The allowed W:H closest to `ratio` on a log scale (so 2:1 and 1:2 are equally far from 1:1); ties: first."""
    return min(allowed, key=lambda text: abs(math.log(ratio / ratio_value(text))))


def tier_for(size: Size, allowed: Sequence[str]) -> str:
    """The smallest allowed size tier whose long side covers the requested long side, else the largest."""
    ranked = sorted((t for t in allowed if t in TIER_PIXELS), key=TIER_PIXELS.__getitem__)
    if not ranked:
        return "1K"
    long_side = max(size.width, size.height)
    return next((t for t in ranked if TIER_PIXELS[t] >= long_side), ranked[-1])


def aspect_for(request: MediaRequest, allowed: Sequence[str], model: str) -> tuple[str | None, list[str]]:
    """The aspect ratio to send (from aspect_ratio, else from size): the nearest of `allowed` (with none listed, the
    one asked, as asked), and why it differs from an asked aspect_ratio (a size has no ratio of its own to keep)."""
    ratio: float | None = None
    asked: str | None = None
    if request.parsed_aspect_ratio is not None:
        ratio, asked = request.parsed_aspect_ratio.value, str(request.parsed_aspect_ratio)
    elif request.parsed_size is not None:
        ratio = request.parsed_size.ratio
    if ratio is None:
        return None, []
    if not allowed or (asked is not None and asked in allowed):
        return asked, []
    chosen = nearest_ratio(ratio, allowed)
    if asked is None or math.isclose(ratio_value(chosen), ratio):
        return chosen, []
    return chosen, [f"{model} takes aspect ratios {', '.join(allowed)}"]


def canonical(value: str, allowed: Sequence[str]) -> str | None:
    """`value` spelled as in `allowed`, compared without case or surrounding blanks; None when it is not among them."""
    lowered = value.strip().lower()
    return next((a for a in allowed if a.lower() == lowered), None)
