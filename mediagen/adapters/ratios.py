"""Snapping a requested shape to what a model takes: the nearest allowed aspect ratio, the size tier that covers it.

Shared by the adapters whose models take an aspect ratio and a size tier (1K, 2K, ...) instead of pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from mediagen.domain.request import Size

#: Nominal long side of each image size tier.
TIER_PIXELS: Final = {"0.5K": 512, "1K": 1024, "2K": 2048, "4K": 4096}


def ratio_value(text: str) -> float:
    width, _, height = text.partition(":")
    return int(width) / int(height)


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
