"""The tables of docs/backends/google.md, rendered from SPEC, VEO_RULES and MODE_TABLE (one source of truth).

`python -m mediagen.adapters.google.docs [PATH]` rewrites the generated block of the page in place;
a test fails when the page and the spec disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mediagen.adapters.backend_page import GeneratedBlock, spec_sections
from mediagen.adapters.google.modes import MODE_TABLE
from mediagen.adapters.google.spec import SPEC, VEO_RULES
from mediagen.domain.media import Capability


def _lines() -> list[str]:
    lines = spec_sections(SPEC)
    lines += ["", "### Veo combination rules", "", "| Model | Rules |", "|---|---|"]
    for name, rules in VEO_RULES.items():
        model = SPEC.model(name)
        capabilities = model.capabilities if model is not None else frozenset()
        parts = [f"{r} needs {rules.long_duration:g} s" for r in rules.long_only_resolutions]
        parts += [f"{r} in 16:9 only" for r in rules.landscape_only_resolutions]
        if rules.references_force_long_landscape and Capability.REFERENCE_IMAGES in capabilities:
            parts.append(f"reference images (≤ {rules.max_reference_images}) need {rules.long_duration:g} s and 16:9")
        if Capability.VIDEO_EXTEND in capabilities:
            parts.append(f"an extension is {rules.extension_resolution}, {rules.long_duration:g} s")
        lines.append(f"| `{name}` | {'; '.join(parts)} |")
    lines += [
        "",
        "### Which call uses which API mode",
        "",
        "| google-genai call | Mode | HTTP | Used for |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{call}` | {row.mode.value} | `{row.http}` | {row.used_for} |" for call, row in MODE_TABLE.items()]
    return lines


PAGE = GeneratedBlock("mediagen.adapters.google", Path("docs/backends/google.md"), _lines)


if __name__ == "__main__":
    raise SystemExit(PAGE.main(sys.argv[1:]))
