"""Which google-genai call works in which API mode (checked in the google-genai 3.6.1 source).

Each Vertex-only method raises ValueError "only supported in Gemini Enterprise Agent Platform mode" on a
Gemini-API client (and Gemini-only ones, such as files.download, raise on a Vertex one), so the adapter picks
the client per call from this table; no setting is needed. Vertex mode uses the same API key ("express mode":
vertexai=True with api_key and no project); users on full Vertex
set `extra.vertex_project` (and `extra.vertex_location`) and authenticate with application default credentials.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs


class Mode(enum.Enum):
    GEMINI = "gemini"
    VERTEX = "vertex"


@attrs.frozen
class ModeRow:
    mode: Mode
    http: str
    used_for: str


#: call -> the mode it needs, the request it makes, and what mediagen uses it for.
MODE_TABLE: Mapping[str, ModeRow] = {
    "models.generate_content": ModeRow(
        Mode.GEMINI,
        "POST /v1/models/{model}:generateContent",
        "Gemini images (each turn with its saved history), Gemini speech",
    ),
    "models.generate_images": ModeRow(
        Mode.VERTEX, "POST /v1beta1/publishers/google/models/{model}:predict", "Imagen text to image"
    ),
    "models.edit_image": ModeRow(
        Mode.VERTEX, "POST /v1beta1/publishers/google/models/{model}:predict", "Imagen masked editing"
    ),
    "models.generate_videos": ModeRow(
        Mode.VERTEX, "POST /v1beta1/publishers/google/models/{model}:predictLongRunning", "Veo: submit"
    ),
    "operations.get": ModeRow(
        Mode.VERTEX, "POST /v1beta1/{model resource}:fetchPredictOperation", "Veo: poll the operation"
    ),
}
