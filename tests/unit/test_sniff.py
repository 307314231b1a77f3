"""The sniffer decides from SNIFF_BYTES leading bytes, for every format mediagen writes."""

from __future__ import annotations

import pytest

from mediagen.domain.sniff import SNIFF_BYTES, extension_for, sniff
from mediagen.sandbox import media

SPEECH = {"mp3": "audio/mpeg", "wav": "audio/wav", "opus": "audio/opus", "aac": "audio/aac", "flac": "audio/flac"}


@pytest.mark.parametrize(("fmt", "mime"), SPEECH.items())
def test_speech_formats_are_told_apart_from_the_sniffed_head(fmt: str, mime: str) -> None:
    head = media.speech(fmt, 0.5)[:SNIFF_BYTES]
    assert sniff(head) == mime
    assert extension_for(mime) == fmt


@pytest.mark.parametrize(("fmt", "mime"), [("png", "image/png"), ("jpeg", "image/jpeg"), ("webp", "image/webp")])
def test_images_are_told_apart_from_the_sniffed_head(fmt: str, mime: str) -> None:
    assert sniff(media.image(16, 16, fmt)[:SNIFF_BYTES]) == mime
