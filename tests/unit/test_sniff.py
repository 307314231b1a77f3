"""The sniffer decides from SNIFF_BYTES leading bytes, for every format mediagen writes."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediagen.domain.media import MediaType
from mediagen.domain.sniff import EXTENSIONS, SNIFF_BYTES, extension_for, media_type_of, sniff
from mediagen.sandbox import media
from mediagen.sandbox.codecs import audio as codecs_audio
from mediagen.testing import media as testing_media

SPEECH = {"mp3": "audio/mpeg", "wav": "audio/wav", "opus": "audio/opus", "aac": "audio/aac", "flac": "audio/flac"}


@pytest.mark.parametrize(("fmt", "mime"), SPEECH.items())
def test_speech_formats_are_told_apart_from_the_sniffed_head(fmt: str, mime: str) -> None:
    head = media.speech(fmt, 0.5)[:SNIFF_BYTES]
    assert sniff(head) == mime
    assert extension_for(mime) == fmt


@pytest.mark.parametrize(("fmt", "mime"), [("png", "image/png"), ("jpeg", "image/jpeg"), ("webp", "image/webp")])
def test_images_are_told_apart_from_the_sniffed_head(fmt: str, mime: str) -> None:
    assert sniff(media.image(16, 16, fmt)[:SNIFF_BYTES]) == mime


def _pillow(fmt: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 40, 10)).save(buffer, fmt)
    return buffer.getvalue()


def _ogg_vorbis_head() -> bytes:
    """The first page of an Ogg Vorbis stream: capture pattern, header, then the vorbis identification packet."""
    packet = b"\x01vorbis" + struct.pack("<IBIiiiB", 0, 1, 44100, 0, 128000, 0, 0xB8) + b"\x01"
    header = b"OggS" + struct.pack("<BBqIIIB", 0, 0x02, 0, 1, 0, 0, 1) + bytes([len(packet)])
    return header + packet


ID3_TAG = b"ID3\x04\x00\x00\x00\x00\x00\x00"  # version 2.4, no flags, size 0


@pytest.mark.parametrize(
    ("make", "mime"),
    [
        (lambda: testing_media.png(4, 4), "image/png"),
        (lambda: _pillow("PNG"), "image/png"),
        (lambda: _pillow("JPEG"), "image/jpeg"),
        (lambda: _pillow("WEBP"), "image/webp"),
        (lambda: _pillow("GIF"), "image/gif"),
        (lambda: media.mp4(0.2, 32, 32), "video/mp4"),
        (testing_media.mp4_stub, "video/mp4"),
        (lambda: testing_media.wav(0.05), "audio/wav"),
        (lambda: b"".join(codecs_audio.wav(0.05)), "audio/wav"),
        (lambda: b"".join(codecs_audio.mp3(0.05)), "audio/mpeg"),
        (lambda: ID3_TAG + b"".join(codecs_audio.mp3(0.05)), "audio/mpeg"),
        (lambda: b"".join(codecs_audio.aac(0.05)), "audio/aac"),
        (lambda: b"".join(codecs_audio.flac(0.05)), "audio/flac"),
        (lambda: b"".join(codecs_audio.opus(0.05)), "audio/opus"),
        (_ogg_vorbis_head, "audio/ogg"),
    ],
    ids=[
        "png-stdlib", "png-pillow", "jpeg", "webp", "gif", "mp4-h264", "mp4-stub", "wav-stdlib", "wav-sandbox",
        "mp3-frame-sync", "mp3-id3", "aac-adts", "flac", "ogg-opus", "ogg-vorbis",
    ],
)  # fmt: skip
def test_real_files_of_every_format_are_recognised_from_their_first_bytes(make: Callable[[], bytes], mime: str) -> None:
    data = make()
    assert sniff(data[:SNIFF_BYTES]) == mime
    assert sniff(data) == mime  # more bytes than needed change nothing
    assert (
        media_type_of(mime)
        is {"image": MediaType.IMAGE, "video": MediaType.VIDEO, "audio": MediaType.AUDIO}[mime.split("/")[0]]
    )


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "audio/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video/quicktime"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00", "video/mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", "video/webm"),
        (b"\xff\xfb\x90\x64", "audio/mpeg"),  # MPEG-1 layer III frame sync
        (b"\xff\xf1\x50\x80", "audio/aac"),  # ADTS: sync word with layer bits 00
        (b"GIF87a\x01\x00\x01\x00", "image/gif"),
    ],
)
def test_container_brands_and_frame_syncs_are_told_apart(head: bytes, mime: str) -> None:
    assert sniff(head) == mime


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\xff",
        b"hello, world",
        b"%PDF-1.7\n",
        b"PK\x03\x04zipfile",
        b"<html><body>",
        b'{"error": "not media"}',
        b"RIFF\x00\x00\x00\x00AVI ",
        b"\x89PNG",  # a cut-off signature proves nothing
        b"\x00" * 64,
    ],
)
def test_anything_else_is_unknown(head: bytes) -> None:
    assert sniff(head) is None


@given(st.binary(max_size=SNIFF_BYTES))
def test_sniffing_any_bytes_never_fails_and_names_only_types_with_an_extension(head: bytes) -> None:
    found = sniff(head)
    assert found is None or (found in EXTENSIONS and media_type_of(found) is not None)


@pytest.mark.parametrize(("mime", "ext"), EXTENSIONS.items())
def test_every_known_type_has_its_extension(mime: str, ext: str) -> None:
    assert extension_for(mime) == ext
    assert ext.isalnum() and ext.islower()


@pytest.mark.parametrize("mime", ["application/pdf", "text/plain", "", "image/tiff", "audio/x-unknown"])
def test_an_unknown_type_gets_the_neutral_bin_extension(mime: str) -> None:
    assert extension_for(mime) == "bin"
