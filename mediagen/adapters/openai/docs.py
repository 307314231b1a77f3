"""The tables of docs/backends/openai.md, rendered from SPEC (one source of truth).

`python -m mediagen.adapters.openai.docs [PATH]` rewrites the generated block of the page in place;
a test fails when the page and the spec disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mediagen.adapters.backend_page import GeneratedBlock, spec_sections
from mediagen.adapters.openai.spec import SPEC, Api, api_for


def _lines() -> list[str]:
    lines = spec_sections(SPEC)
    lines += ["", "### Which API each model uses", "", "| Model | API |", "|---|---|"]
    for media in SPEC.media_types:
        for model in SPEC.models_for(media):
            api = api_for(media, model.name)
            lines.append(f"| `{model.name}` | {_API_NAMES[api]} |")
    return lines


_API_NAMES = {
    Api.RESPONSES: "Responses API, `image_generation` tool (`POST /v1/responses`)",
    Api.IMAGES: "Images API (`POST /v1/images/generations`, `/v1/images/edits`)",
    Api.VIDEOS: "Videos API (`POST /v1/videos`, `/v1/videos/{id}/remix`, `GET /v1/videos/{id}/content`)",
    Api.SPEECH: "Audio API (`POST /v1/audio/speech`)",
}

PAGE = GeneratedBlock("mediagen.adapters.openai", Path("docs/backends/openai.md"), _lines)


if __name__ == "__main__":
    raise SystemExit(PAGE.main(sys.argv[1:]))
