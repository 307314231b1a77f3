"""The sandbox's audio at any rate and bitrate (what the ElevenLabs fake answers): properties of the bytes, checked
without decoders, and G.711 against the standard's reference values."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediagen.domain.sniff import sniff
from mediagen.sandbox import media
from mediagen.sandbox.codecs import audio
from mediagen.sandbox.elevenlabs import catalog

ALL_FORMATS = sorted({f for f in (*catalog.CONVERT_FORMATS, *catalog.MUSIC_FORMATS) if f != "auto"})
_MPEG1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_RATES = {3: (44_100, 48_000, 32_000), 2: (22_050, 24_000, 16_000)}


def mp3_frames(data: bytes) -> list[tuple[int, int, int]]:
    """Walk an MP3 frame by frame from its headers: (sample rate, kbit/s, frame length) of each."""
    frames, offset = [], 0
    while offset < len(data):
        b1, b2 = data[offset + 1], data[offset + 2]
        assert data[offset] == 0xFF and b1 & 0xE0 == 0xE0, f"lost sync at {offset}"
        version = b1 >> 3 & 0b11
        kbps = (_MPEG1 if version == 3 else _MPEG2)[b2 >> 4]
        rate = _RATES[version][b2 >> 2 & 0b11]
        length = (144 if version == 3 else 72) * kbps * 1000 // rate + (b2 >> 1 & 1)
        frames.append((rate, kbps, length))
        offset += length
    assert offset == len(data)
    return frames


@settings(max_examples=40, deadline=None)
@given(fmt=st.sampled_from([f for f in ALL_FORMATS if f.startswith("mp3")]), seconds=st.floats(0.2, 12))
def test_mp3_frames_keep_the_asked_rate_and_average_the_asked_bitrate(fmt: str, seconds: float) -> None:
    wanted = catalog.audio_format(fmt)
    data = b"".join(media.audio_chunks(wanted, seconds))
    frames = mp3_frames(data)
    assert {rate for rate, _, _ in frames} == {wanted.sample_rate}
    samples = (1152 if wanted.sample_rate >= 32_000 else 576) * len(frames)
    assert samples / wanted.sample_rate == pytest.approx(seconds, abs=0.1)
    if len(frames) >= 50:  # padding and mixed bitrates even out over a few dozen frames
        average = sum(kbps for _, kbps, _ in frames) / len(frames)
        assert average == pytest.approx(wanted.bitrate / 1000, rel=0.01)  # type: ignore[operator]


@settings(max_examples=40, deadline=None)
@given(fmt=st.sampled_from(ALL_FORMATS), seconds=st.floats(0.1, 8))
def test_every_format_is_what_its_name_says(fmt: str, seconds: float) -> None:
    wanted = catalog.audio_format(fmt)
    data = b"".join(media.audio_chunks(wanted, seconds))
    if wanted.codec in ("pcm", "ulaw", "alaw"):
        width = 2 if wanted.codec == "pcm" else 1
        assert len(data) == round(seconds * wanted.sample_rate) * width  # headerless: only the length tells
    elif wanted.codec == "wav":
        assert sniff(data[:16]) == "audio/wav"
        assert struct.unpack_from("<I", data, 24)[0] == wanted.sample_rate
    else:
        assert sniff(data[:64]) == {"mp3": "audio/mpeg", "opus": "audio/opus"}[wanted.codec]


@pytest.mark.parametrize("kbps", [32, 64, 96, 128, 192])
def test_opus_packets_are_padded_to_the_bitrate(kbps: int) -> None:
    packet = audio._opus_packet(kbps * 1000)
    assert len(packet) == kbps * 1000 * 20 // 1000 // 8  # one 20 ms packet
    assert packet[0] & 0b11 == 0b11 and packet[1] == 0b0100_0001  # code 3: one CBR frame, padded


@pytest.mark.parametrize(
    ("sample", "ulaw", "alaw"),
    [
        (0, 0xFF, 0xD5),
        (-1, 0x7E, 0x55),
        (32767, 0x80, 0xAA),
        (-32768, 0x00, 0x2A),
        (1000, 0xCE, 0xFA),
        (-1000, 0x4E, 0x7A),
        (12345, 0x97, 0xBD),
        (-29562, 0x02, 0x29),
    ],
)
def test_g711_matches_the_reference_encoder(sample: int, ulaw: int, alaw: int) -> None:
    """Values from G.711's reference encoder (Sun's g711.c, as Python's audioop has it)."""
    assert audio._ulaw(sample) == ulaw
    assert audio._alaw(sample) == alaw


def test_an_mp3_rate_the_format_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match="no sample rate 8000"):
        list(audio.mp3(1.0, sample_rate=8_000))
