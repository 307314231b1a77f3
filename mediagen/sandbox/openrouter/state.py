"""Server-side state of the OpenRouter fake: the requests it read and the images it serves at expiring URLs.

Nothing here needs to outlive the process: OpenRouter keeps no conversation (each request carries its messages),
and an image URL that outlives its sandbox is an expired URL, as it would be at OpenRouter.
"""

from __future__ import annotations

import time
from typing import Any

import attrs


@attrs.frozen
class ReceivedRequest:
    """One request as the fake read it: path, the headers that matter (lower-case names: authorization,
    http-referer, x-title, openai-*, x-custom*), and the JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@attrs.frozen
class ServedImage:
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    mime_type: str
    expires_at: float


@attrs.define
class OpenRouterState:
    requests: list[ReceivedRequest] = attrs.field(factory=list)
    images: dict[str, ServedImage] = attrs.field(factory=dict)

    def requests_to(self, path: str) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.path == path]

    def image(self, token: str, now: float | None = None) -> ServedImage | None:
        """The image behind a URL token while it has not expired (expired ones are forgotten)."""
        found = self.images.get(token)
        if found is None:
            return None
        if (time.time() if now is None else now) >= found.expires_at:
            del self.images[token]
            return None
        return found
