"""media_duration_seconds: how long a written video or audio file plays, read from its own headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediagen.adapters.media_length import media_length
from mediagen.sandbox.media import AudioFormat, audio_chunks, mp4, speech
from mediagen.testing.media import png

#: One frame of the coarsest format here (MP3 at 24 kHz: 1152 samples).
FRAME = 1152 / 24_000


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("wav", "audio/wav"), ("mp3", "audio/mpeg"), ("flac", "audio/flac"), ("opus", "audio/opus"), ("aac", "audio/aac")],
)
@pytest.mark.parametrize("seconds", [0.5, 2.25])
def test_audio_length_is_read_from_the_file_within_one_frame(
    tmp_path: Path, fmt: str, mime: str, seconds: float
) -> None:
    path = tmp_path / f"speech.{fmt}"
    path.write_bytes(speech(fmt, seconds))
    length = media_length(path, mime)
    assert length is not None and abs(length - seconds) <= FRAME


@pytest.mark.parametrize("seconds", [4.0, 8.0])
def test_video_length_is_the_mp4_movie_header_duration(tmp_path: Path, seconds: float) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4(seconds, 64, 48))
    assert media_length(path, "video/mp4") == seconds


def test_images_raw_pcm_and_unreadable_files_have_no_length(tmp_path: Path) -> None:
    picture, pcm, broken = tmp_path / "a.png", tmp_path / "a.pcm", tmp_path / "a.mp4"
    picture.write_bytes(png(8, 8))
    pcm.write_bytes(speech("pcm", 1.0))
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\xff" * 40)
    assert media_length(picture, "image/png") is None
    assert media_length(pcm, "audio/pcm") is None
    assert media_length(broken, "video/mp4") is None
    assert media_length(tmp_path / "gone.wav", "audio/wav") is None


def test_the_deprecated_duration_seconds_warns_and_gives_the_wall_time() -> None:
    from mediagen.domain.media import MediaType
    from mediagen.domain.result import Artifact, GenerationResult

    artifact = Artifact(Path("/out/a.wav"), "audio/wav", 10, "ab" * 32, media_duration_seconds=3.0)
    result = GenerationResult(artifact, "openai", "tts-1", MediaType.AUDIO, elapsed_seconds=0.4)
    with pytest.warns(DeprecationWarning, match="elapsed_seconds"):
        assert result.duration_seconds == 0.4
    assert result.media_duration_seconds == 3.0


def test_a_file_of_a_known_type_loads_only_its_own_reader(tmp_path: Path) -> None:
    """mutagen.File loads every format's reader (~50 ms) to guess; the sniffed type names the one to use."""
    import json
    import subprocess
    import sys

    path = tmp_path / "speech.mp3"
    path.write_bytes(speech("mp3", 1.0))
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from mediagen.adapters.media_length import media_length\n"
        f"length = media_length(Path({str(path)!r}), 'audio/mpeg')\n"
        "print(json.dumps([length, sorted(m for m in sys.modules if m.startswith('mutagen.asf'))]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    length, other_readers = json.loads(done.stdout)
    assert length is not None and abs(length - 1.0) <= FRAME
    assert other_readers == []


def _with_xing(mp3: bytes, frames: int) -> bytes:
    """`mp3` with a Xing header in its first frame saying it holds `frames` frames (as a VBR encoder writes)."""
    import io
    import struct

    from mutagen.mp3 import MPEGFrame, XingHeader

    offset = XingHeader.get_offset(MPEGFrame(io.BytesIO(mp3)))
    header = b"Xing" + struct.pack(">II", 0x1, frames)  # flags: the frame count only
    return mp3[:offset] + header + mp3[offset + len(header) :]


@settings(max_examples=30, deadline=None)
@given(
    seconds=st.floats(min_value=0.05, max_value=30.0),
    rate_and_bitrate=st.sampled_from(
        [(22_050, 32_000), (24_000, 48_000), (44_100, 64_000), (44_100, 128_000), (44_100, 192_000)]
    ),
)
def test_an_mp3_length_is_what_mutagen_reads_from_its_frames(seconds: float, rate_and_bitrate: tuple[int, int]) -> None:
    """The first two frames give the length MPEGInfo computes from the four it checks (ElevenLabs' MP3 formats)."""
    import io

    from mutagen.mp3 import MPEGInfo

    rate, bitrate = rate_and_bitrate
    data = b"".join(audio_chunks(AudioFormat("mp3", rate, bitrate), seconds))
    assert media_length(data, "audio/mpeg") == round(MPEGInfo(io.BytesIO(data)).length, 3)


def test_an_mp3_with_a_xing_header_plays_as_long_as_it_says() -> None:
    import io

    from mutagen.mp3 import MPEGFrame, MPEGInfo

    data = _with_xing(speech("mp3", 2.0), 100)
    frame = MPEGFrame(io.BytesIO(data))
    assert media_length(data, "audio/mpeg") == round(MPEGInfo(io.BytesIO(data)).length, 3)
    assert media_length(data, "audio/mpeg") == round(100 * 576 / frame.sample_rate, 3)


@pytest.mark.parametrize("before", [b"ID3\x03\x00\x00\x00\x00\x00\x00", b"not a frame", b"\xff\xfb\x90\xc4"])
def test_an_mp3_that_does_not_start_with_two_frames_is_searched_like_mutagen_does(before: bytes) -> None:
    """ID3 tags, junk or a lone frame header first: mutagen's own search finds the stream after them."""
    data = speech("mp3", 1.5)
    length = media_length(before + data, "audio/mpeg")
    assert length is not None and abs(length - 1.5) <= FRAME
    assert media_length(b"\xff\xfb" + b"\x00" * 100, "audio/mpeg") is None
