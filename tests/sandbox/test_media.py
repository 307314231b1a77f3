"""The sandbox's media is real: images of the asked size, playable H.264 MP4s, speech in six true formats."""

from __future__ import annotations

import hashlib
import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mediagen.domain.sniff import sniff
from mediagen.sandbox import media
from tests.sandbox.conftest import decode_errors, needs_ffprobe, probe

SNIFFED = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
}
FFPROBE_CODECS = {"mp3": "mp3", "opus": "opus", "aac": "aac", "flac": "flac", "wav": "pcm_s16le", "pcm": "pcm_s16le"}
PCM_INPUT = ("-f", "s16le", "-ar", "24000", "-ac", "1")


@settings(max_examples=25, deadline=None)
@given(
    width=st.integers(1, 96),
    height=st.integers(1, 96),
    fmt=st.sampled_from(media.IMAGE_FORMATS),
    prompt=st.text(max_size=20),
)
def test_image_has_exactly_the_requested_pixel_size_and_format(width: int, height: int, fmt: str, prompt: str) -> None:
    data = media.image(width, height, fmt, prompt=prompt)
    img = Image.open(io.BytesIO(data))
    assert img.size == (width, height)
    assert img.format == fmt.upper()
    assert sniff(data[:32]) == media.IMAGE_CONTENT_TYPES[fmt]


def test_different_prompts_give_different_images_and_the_same_prompt_the_same() -> None:
    fox, owl = media.image(64, 48, prompt="a fox"), media.image(64, 48, prompt="an owl")
    assert fox != owl
    assert media.image(64, 48, prompt="a fox") == fox


def test_transparent_image_has_an_alpha_channel_with_transparent_pixels() -> None:
    img = Image.open(io.BytesIO(media.image(32, 32, "png", transparent=True)))
    assert img.mode == "RGBA"
    alpha = img.getchannel("A")
    assert alpha.getextrema()[0] == 0


def test_derived_image_paints_the_prompt_colour_only_where_the_mask_is_transparent() -> None:
    base = media.image(40, 40, prompt="base")
    mask_img = Image.new("RGBA", (40, 40), (0, 0, 0, 255))
    mask_img.paste((0, 0, 0, 0), (0, 0, 20, 40))  # left half transparent: edit there
    mask = io.BytesIO()
    mask_img.save(mask, "PNG")
    out = Image.open(io.BytesIO(media.derive([base], 40, 40, mask=mask.getvalue(), prompt="paint"))).convert("RGB")
    original = Image.open(io.BytesIO(base)).convert("RGB")
    shape = media.Palette.of("paint").shape
    assert out.getpixel((5, 5)) == shape
    assert out.getpixel((35, 5)) == original.getpixel((35, 5))


def _boxes(data: bytes) -> list[bytes]:
    kinds, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        kinds.append(kind)
        offset += size
    assert offset == len(data), "boxes must tile the file exactly"
    return kinds


def test_mp4_is_sniffed_as_mp4_and_lays_out_moov_before_mdat() -> None:
    data = media.mp4(1, 64, 48, fps=8, prompt="clip")
    assert sniff(data[:32]) == "video/mp4"
    assert _boxes(data) == [b"ftyp", b"moov", b"mdat"]


def test_mp4_plan_size_is_exact_and_chunks_rebuild_the_file() -> None:
    plan = media.plan_mp4(1, 32, 32, fps=4)
    joined = b"".join(plan.chunks(chunk_size=1000))
    assert len(joined) == plan.size
    assert all(len(c) <= 1000 for c in plan.chunks(chunk_size=1000) if c is not plan.head)


def test_a_512_mib_video_is_planned_from_two_shared_keyframes_without_materialising_it() -> None:
    target = 512 * 1024 * 1024
    plan = media.plan_mp4(4, 1280, 720, min_bytes=target)
    assert plan.size >= target
    assert len({id(sample) for sample in plan.samples}) == 2  # every frame is one of two shared encodings
    total = sum(len(chunk) for chunk in plan.chunks(chunk_size=8 * 1024 * 1024))
    assert total == plan.size
    ftyp_size = struct.unpack(">I", plan.head[:4])[0]
    moov_size = struct.unpack(">I", plan.head[ftyp_size : ftyp_size + 4])[0]
    mdat_size = struct.unpack(">I", plan.head[ftyp_size + moov_size : ftyp_size + moov_size + 4])[0]
    assert plan.head[ftyp_size + moov_size + 4 : ftyp_size + moov_size + 8] == b"mdat"
    assert ftyp_size + moov_size + mdat_size == plan.size


async def test_mp4_stream_yields_the_same_bytes_as_mp4() -> None:
    chunks = [bytes(c) async for c in media.mp4_stream(1, 48, 32, fps=6, prompt="s", chunk_size=512)]
    assert b"".join(chunks) == media.mp4(1, 48, 32, fps=6, prompt="s")


@needs_ffprobe
@settings(max_examples=6, deadline=None)
@given(width=st.integers(1, 60).map(lambda w: 2 * w), height=st.integers(1, 60).map(lambda h: 2 * h))
def test_mp4_of_any_even_size_decodes_cleanly_at_that_size(width: int, height: int) -> None:
    data = media.mp4(1, width, height, fps=5)
    stream = probe(data)["streams"][0]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", width, height)
    assert decode_errors(data) == ""


@needs_ffprobe
def test_mp4_probes_as_constrained_baseline_h264_with_the_requested_duration() -> None:
    info = probe(media.mp4(4, 720, 1280, fps=24, prompt="portrait"))
    stream = info["streams"][0]
    assert stream["codec_name"] == "h264"
    assert stream["profile"] == "Constrained Baseline"
    assert (stream["width"], stream["height"]) == (720, 1280)
    assert int(stream["nb_frames"]) == 96
    assert float(info["format"]["duration"]) == pytest.approx(4.0)


@pytest.mark.parametrize("fmt", media.SPEECH_FORMATS)
def test_speech_is_truly_the_asked_format(fmt: str) -> None:
    data = media.speech(fmt, 1.5, seed=3)
    if fmt == "pcm":
        assert len(data) == round(1.5 * 24_000) * 2  # raw 24 kHz 16-bit mono, no header
        assert sniff(data[:64]) is None
    else:
        assert sniff(data[:64]) == SNIFFED[fmt]


@needs_ffprobe
@pytest.mark.parametrize("fmt", media.SPEECH_FORMATS)
def test_speech_probes_as_the_right_codec_and_decodes_cleanly(fmt: str) -> None:
    data = media.speech(fmt, 2.0, seed=1)
    extra = PCM_INPUT if fmt == "pcm" else ()
    info = probe(data, *extra)
    stream = info["streams"][0]
    assert stream["codec_name"] == FFPROBE_CODECS[fmt]
    assert float(info["format"]["duration"]) == pytest.approx(2.0, abs=0.1)
    assert decode_errors(data, *extra) == ""


def test_flac_streaminfo_carries_the_md5_of_its_samples() -> None:
    flac = media.speech("flac", 1.2, seed=5)
    pcm = media.speech("pcm", 1.2, seed=5)
    assert flac[26:42] == hashlib.md5(pcm, usedforsecurity=False).digest()


def test_long_speech_streams_in_chunks() -> None:
    chunks = list(media.speech_chunks("wav", 30))
    assert len(chunks) > 10
    assert sniff(chunks[0][:32]) == "audio/wav"


def test_unknown_formats_and_sizes_are_value_errors_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="mp3, opus, aac, flac, wav, pcm"):
        media.speech("ogg", 1)
    with pytest.raises(ValueError, match="png, jpeg, webp"):
        media.image(8, 8, "gif")
    with pytest.raises(ValueError, match="positive size"):
        media.image(0, 8)
    with pytest.raises(ValueError, match="positive seconds"):
        media.plan_mp4(0, 8, 8)
