"""The tables of docs/backends/google.md, rendered from SPEC, VEO_RULES and MODE_TABLE (one source of truth).

`python -m mediagen.adapters.google.docs [PATH]` rewrites the generated block of the page in place;
a test fails when the page and the spec disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mediagen.adapters.google.modes import MODE_TABLE
from mediagen.adapters.google.spec import SPEC, VEO_RULES
from mediagen.domain.backend import ModelSpec
from mediagen.domain.media import Capability

BEGIN = "<!-- generated from mediagen.adapters.google (python -m mediagen.adapters.google.docs): begin -->"
END = "<!-- generated: end -->"
DEFAULT_PAGE = Path("docs/backends/google.md")


def _list(values: tuple[object, ...]) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values) or "—"


def _model_row(model: ModelSpec) -> str:
    default = " (default)" if SPEC.default_models.get(model.media_type) == model.name else ""
    c = model.constraints
    limits = []
    if c.aspect_ratios:
        limits.append(f"aspect {_list(c.aspect_ratios)}")
    if c.resolutions:
        limits.append(f"sizes {_list(c.resolutions)}")
    if c.durations:
        limits.append(f"seconds {_list(c.durations)}")
    if c.max_input_images is not None:
        limits.append(f"≤ {c.max_input_images} input images")
    if c.output_formats:
        limits.append(f"formats {_list(c.output_formats)}")
    if c.audio_formats:
        limits.append(f"formats {_list(c.audio_formats)}")
    if c.voices:
        limits.append(f"{len(c.voices)} voices")
    capabilities = ", ".join(sorted(cap.value for cap in model.capabilities))
    return f"| `{model.name}`{default} | {model.media_type.value} | {capabilities} | {'; '.join(limits)} |"


def render() -> str:
    """The generated block, markers included."""
    lines = [BEGIN, "", "### Keys and endpoint", ""]
    lines.append(f"- Key: {' or '.join(f'`{v}`' for v in SPEC.env_vars)} (the first one set wins).")
    lines.append(
        f"- Endpoint override: {', '.join(f'`{v}`' for v in SPEC.base_url_env_vars)} or `backends.google.base_url`."
    )
    lines += ["", "### Models", "", "| Model | Makes | Capabilities | Accepts |", "|---|---|---|---|"]
    lines += [_model_row(model) for media in SPEC.media_types for model in SPEC.models_for(media)]
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
    lines += ["", "### Voices", "", ", ".join(f"`{v}`" for v in _voices()), "", END]
    return "\n".join(lines)


def _voices() -> tuple[str, ...]:
    for model in SPEC.models:
        if model.constraints.voices:
            return model.constraints.voices
    return ()


def rewrite(page: str) -> str:
    """`page` with its generated block replaced by a fresh one (appended when it has none)."""
    if BEGIN in page and END in page:
        head, _, rest = page.partition(BEGIN)
        _, _, tail = rest.partition(END)
        return head + render() + tail
    return page.rstrip("\n") + "\n\n" + render() + "\n"


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT_PAGE
    path.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"rewrote the generated tables of {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
