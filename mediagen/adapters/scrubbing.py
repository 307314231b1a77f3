"""Keeping keys out of what mediagen says: each adapter scrubs a vendor's error text and a transport's message of
the key in use and of anything shaped like one of its vendor's keys, before the text reaches an error."""

from __future__ import annotations

import re
from typing import Final

from mediagen.domain.secret import Secret

MASK: Final = "**********"


class KeyScrubber:
    """Called with a text (and the key in use, when known): the text with that key, and anything `key_like`
    matches, masked."""

    def __init__(self, key_like: str) -> None:
        self._key_like = re.compile(key_like)

    def __call__(self, text: str, secret: Secret | None = None) -> str:
        if secret is not None:
            text = text.replace(secret.reveal(), MASK)
        return self._key_like.sub(MASK, text)
