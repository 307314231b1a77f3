"""The tables of docs/backends/openrouter.md, rendered from SPEC (one source of truth).

`python -m mediagen.adapters.openrouter.docs [PATH]` rewrites the generated block of the page in place;
a test fails when the page and the spec disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mediagen.adapters.backend_page import GeneratedBlock, spec_sections
from mediagen.adapters.openrouter.spec import COMMON_ASPECT_RATIOS, IMAGE_SIZES, SPEC, modalities_for
from mediagen.domain.media import MediaType


def _lines() -> list[str]:
    lines = spec_sections(SPEC)
    lines += ["", "### What each model is sent", "", "| Model | `modalities` | `image_config` |", "|---|---|---|"]
    for model in SPEC.models_for(MediaType.IMAGE):
        constraints = model.constraints
        config = []
        if constraints.aspect_ratios:
            config.append(f"`aspect_ratio` ({len(constraints.aspect_ratios)} ratios)")
        if constraints.resolutions:
            config.append(f"`image_size` ({', '.join(constraints.resolutions)})")
        lines.append(f"| `{model.name}` | {_listed(modalities_for(model.name))} | {'; '.join(config) or 'none'} |")
    lines.append(
        f"| any other id (`--model`) | {_listed(modalities_for(''))} | "
        f"`aspect_ratio` snapped to {', '.join(COMMON_ASPECT_RATIOS)}; `image_size` {', '.join(IMAGE_SIZES)} |"
    )
    return lines


def _listed(values: tuple[str, ...]) -> str:
    return "`[" + ", ".join(f'"{value}"' for value in values) + "]`"


PAGE = GeneratedBlock("mediagen.adapters.openrouter", Path("docs/backends/openrouter.md"), _lines)


if __name__ == "__main__":
    raise SystemExit(PAGE.main(sys.argv[1:]))
