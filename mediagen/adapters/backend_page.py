"""The generated part of a backend's page in docs/backends/: keys, endpoint and models, from its BackendSpec.

A backend's docs module builds a `GeneratedBlock` from `spec_sections(spec)` plus any tables of its own;
`python -m mediagen.adapters.<backend>.docs [PATH]` rewrites the block in place, and a test fails when the
page and the spec disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs

from mediagen.domain.backend import BackendSpec

END = "<!-- generated: end -->"
#: A model with more voices shows their count in the table, and the page lists them once below it.
MAX_VOICES_IN_TABLE = 16


def _codes(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def spec_sections(spec: BackendSpec) -> list[str]:
    """Markdown lines: the key and endpoint variables, then one table row per model."""
    lines = ["### Keys and endpoint", ""]
    first_wins = " (the first one set wins)" if len(spec.env_vars) > 1 else ""
    lines.append(f"- Key: {' or '.join(f'`{v}`' for v in spec.env_vars)}{first_wins}.")
    endpoint = f"{_codes(spec.base_url_env_vars)} or " if spec.base_url_env_vars else ""
    lines.append(f"- Endpoint override: {endpoint}`backends.{spec.name}.base_url` (the setting wins).")
    for key, variable in spec.extra_env_vars.items():
        lines.append(
            f"- `backends.{spec.name}.extra.{key}`: also read from `{variable}` (the setting wins; never in "
            "sandbox mode)."
        )
    lines += ["", "### Models", "", "| Model | Makes | Capabilities | Accepts | About |", "|---|---|---|---|---|"]
    for media in spec.media_types:
        for model in spec.models_for(media):
            default = " (default)" if spec.default_models.get(model.media_type) == model.name else ""
            if model.retired_on is not None:
                default += f" (retired on {model.retired_on.isoformat()}: auto-selection passes it over)"
            capabilities = ", ".join(sorted(cap.value for cap in model.capabilities))
            accepts = model.constraints.summary(max_voices=MAX_VOICES_IN_TABLE) or "—"
            lines.append(
                f"| `{model.name}`{default} | {media.value} | {capabilities} | {accepts} | {model.description} |"
            )
    voices = next((m.constraints.voices for m in spec.models if len(m.constraints.voices) > MAX_VOICES_IN_TABLE), ())
    if voices:
        lines += ["", "### Voices", "", _codes(voices)]
    return lines


@attrs.frozen
class GeneratedBlock:
    """The marked block of one page, and how to render and rewrite it."""

    module: str
    page: Path
    render_lines: Callable[[], list[str]]

    @property
    def begin(self) -> str:
        return f"<!-- generated from {self.module} (python -m {self.module}.docs): begin -->"

    def render(self) -> str:
        """The block, markers included."""
        return "\n".join([self.begin, "", *self.render_lines(), "", END])

    def rewrite(self, text: str) -> str:
        """`text` with its generated block replaced by a fresh one (appended when it has none)."""
        if self.begin in text and END in text:
            head, _, rest = text.partition(self.begin)
            _, _, tail = rest.partition(END)
            return head + self.render() + tail
        return text.rstrip("\n") + "\n\n" + self.render() + "\n"

    def main(self, argv: list[str]) -> int:
        path = Path(argv[0]) if argv else self.page
        fresh = path.with_name(f".{path.name}.new")
        fresh.write_text(self.rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")
        fresh.replace(path)  # the page is whole, old or new, whatever stops the rewrite
        print(f"rewrote the generated tables of {path}")
        return 0
