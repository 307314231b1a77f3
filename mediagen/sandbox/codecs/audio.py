"""Speech-shaped audio in six real formats, written in pure Python.

Lossless formats (WAV, PCM, FLAC) carry a quiet sine tone; the lossy ones (MP3, AAC, Opus)
carry correctly framed silence, whose frames need no psychoacoustic encoder: an MPEG-2 Layer III
frame with zeroed side info, an AAC-LC block with no spectral bands, and the 3-byte CELT
silence packet. Every stream decodes in ffmpeg and any player.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import struct
import wave
from collections.abc import Callable, Iterator

SAMPLE_RATE = 24_000  # what OpenAI's speech endpoint produces
_FLAC_BLOCK = 4096
_CHUNK = 64 * 1024


@functools.lru_cache(maxsize=8)
def _tone_block(cycles: int) -> bytes:
    """One FLAC block's worth (4096 samples) of s16le sine with whole cycles, so blocks repeat exactly."""
    amplitude = 0.1 * 32767
    return struct.pack(
        f"<{_FLAC_BLOCK}h",
        *(round(amplitude * math.sin(2 * math.pi * cycles * i / _FLAC_BLOCK)) for i in range(_FLAC_BLOCK)),
    )


def _cycles_for(seed: int) -> int:
    """Whole cycles per 4096-sample block: 60..99 gives tones between ~350 Hz and ~580 Hz."""
    return 60 + seed % 40


def pcm_samples(seconds: float, seed: int = 0) -> Iterator[bytes]:
    """Signed 16-bit little-endian mono samples at 24 kHz, in blocks of 4096 samples (the last one shorter)."""
    total = round(seconds * SAMPLE_RATE)
    block = _tone_block(_cycles_for(seed))
    for start in range(0, total, _FLAC_BLOCK):
        n = min(_FLAC_BLOCK, total - start)
        yield block if n == _FLAC_BLOCK else block[: 2 * n]


def pcm(seconds: float, seed: int = 0) -> Iterator[bytes]:
    """Raw PCM as OpenAI sends it: 24 kHz, 16-bit signed little-endian, mono, no header."""
    yield from pcm_samples(seconds, seed)


def wav(seconds: float, seed: int = 0) -> Iterator[bytes]:
    """A RIFF/WAVE file (written by the standard `wave` module) around the PCM samples."""
    total = round(seconds * SAMPLE_RATE)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        writer.setnframes(total)
        writer.writeframesraw(b"")
        yield buffer.getvalue()  # the header, with the final sizes already in it
        buffer.seek(0)
        buffer.truncate()
        for block in pcm_samples(seconds, seed):
            writer.writeframesraw(block)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()


# --- MP3: MPEG-2 Layer III, 24 kHz, mono, 32 kbit/s, 576 samples per frame -------------------

_MP3_SAMPLES_PER_FRAME = 576
# sync + MPEG-2 + Layer III + no CRC | bitrate index 4 (32 kbit/s), 24 kHz, no padding | mono, original
_MP3_HEADER = bytes([0xFF, 0xF3, 0x44, 0xC4])
_MP3_FRAME_BYTES = 72 * 32_000 // SAMPLE_RATE
# Side info (9 bytes for MPEG-2 mono) all zero: main_data_begin 0, part2_3_length 0 -> silence.
_MP3_SILENT_FRAME = _MP3_HEADER + bytes(_MP3_FRAME_BYTES - len(_MP3_HEADER))


def mp3(seconds: float, seed: int = 0) -> Iterator[bytes]:
    """An MP3 stream of silent frames with valid headers (no ID3 tag, as OpenAI sends)."""
    frames = max(1, math.ceil(seconds * SAMPLE_RATE / _MP3_SAMPLES_PER_FRAME))
    per_chunk = _CHUNK // _MP3_FRAME_BYTES
    for start in range(0, frames, per_chunk):
        yield _MP3_SILENT_FRAME * min(per_chunk, frames - start)


# --- AAC: ADTS-framed AAC-LC, 24 kHz, mono, 1024 samples per frame ----------------------------

_AAC_SAMPLES_PER_FRAME = 1024
_AAC_SAMPLING_INDEX_24K = 6


def _aac_silent_block() -> bytes:
    """raw_data_block(): one SCE with max_sfb=0 (no spectral data), then END, byte-aligned."""
    bits = (
        "000"  # id_syn_ele: SCE
        "0000"  # element_instance_tag
        + format(100, "08b")  # global_gain
        + "0"  # ics_reserved_bit
        "00"  # window_sequence: ONLY_LONG_SEQUENCE
        "0"  # window_shape
        "000000"  # max_sfb
        "0"  # predictor_data_present
        "0"  # pulse_data_present
        "0"  # tns_data_present
        "0"  # gain_control_data_present
        "111"  # id_syn_ele: END
    )
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _adts_frame(payload: bytes) -> bytes:
    length = 7 + len(payload)
    header = (
        (0xFFF << 44)  # syncword
        | (0 << 43)  # ID: MPEG-4
        | (0 << 41)  # layer
        | (1 << 40)  # protection_absent
        | (1 << 38)  # profile: AAC LC (object type 2, minus 1)
        | (_AAC_SAMPLING_INDEX_24K << 34)
        | (1 << 30)  # channel_configuration: mono
        | (length << 13)
        | (0x7FF << 2)  # buffer fullness: VBR
    )
    return header.to_bytes(7, "big") + payload


_AAC_SILENT_FRAME = _adts_frame(_aac_silent_block())


def aac(seconds: float, seed: int = 0) -> Iterator[bytes]:
    """An ADTS AAC-LC stream of silent frames."""
    frames = max(1, math.ceil(seconds * SAMPLE_RATE / _AAC_SAMPLES_PER_FRAME))
    per_chunk = _CHUNK // len(_AAC_SILENT_FRAME)
    for start in range(0, frames, per_chunk):
        yield _AAC_SILENT_FRAME * min(per_chunk, frames - start)


# --- Opus in Ogg (RFC 7845), 20 ms CELT silence packets ---------------------------------------


def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_OGG_CRC = _ogg_crc_table()


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_CRC[((crc >> 24) ^ byte) & 0xFF]
    return crc


def _ogg_page(packets: list[bytes], *, granule: int, serial: int, sequence: int, flags: int) -> bytes:
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    head = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing)) + lacing
    page = head + b"".join(packets)
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


_OPUS_PRE_SKIP = 312
_OPUS_SAMPLES_PER_PACKET = 960  # 20 ms at 48 kHz, the Opus granule clock
_OPUS_SILENCE = b"\xf8\xff\xfe"  # TOC: CELT fullband 20 ms mono, one frame; then the silence flag
_OPUS_PACKETS_PER_PAGE = 50


def opus(seconds: float, seed: int = 0) -> Iterator[bytes]:
    """An Ogg Opus file: OpusHead, OpusTags, then pages of one-second runs of silence packets."""
    serial = 0x6D656469 ^ seed
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, _OPUS_PRE_SKIP, SAMPLE_RATE, 0, 0)
    vendor = b"mediagen sandbox"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    yield _ogg_page([head], granule=0, serial=serial, sequence=0, flags=0x02)
    yield _ogg_page([tags], granule=0, serial=serial, sequence=1, flags=0)
    end_granule = round(seconds * 48_000) + _OPUS_PRE_SKIP
    packets = max(1, math.ceil(end_granule / _OPUS_SAMPLES_PER_PACKET))
    sequence = 2
    for start in range(0, packets, _OPUS_PACKETS_PER_PAGE):
        count = min(_OPUS_PACKETS_PER_PAGE, packets - start)
        last = start + count >= packets
        granule = end_granule if last else (start + count) * _OPUS_SAMPLES_PER_PACKET
        yield _ogg_page([_OPUS_SILENCE] * count, granule=granule, serial=serial, sequence=sequence, flags=4 * last)
        sequence += 1


# --- FLAC with verbatim subframes -------------------------------------------------------------


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 8
        for _ in range(8):
            r = ((r << 1) ^ 0x8005) if r & 0x8000 else (r << 1)
        table.append(r & 0xFFFF)
    return table


_CRC16 = _crc16_table()


def _crc16(data: bytes, crc: int = 0) -> int:
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[((crc >> 8) ^ byte) & 0xFF]
    return crc


def _crc16_continuation(data: bytes) -> Callable[[int], int]:
    """crc16(data, state) for any state, in O(1) per call: CRC is affine in its starting state."""
    base = _crc16(data, 0)
    basis = [_crc16(data, 1 << bit) ^ base for bit in range(16)]

    def resume(state: int) -> int:
        out = base
        for bit in range(16):
            if state >> bit & 1:
                out ^= basis[bit]
        return out

    return resume


def _utf8_number(n: int) -> bytes:
    """FLAC's UTF-8-like coding of the frame number."""
    if n < 0x80:
        return bytes([n])
    for length, first_mask in ((2, 0xC0), (3, 0xE0), (4, 0xF0), (5, 0xF8), (6, 0xFC)):
        if n < 1 << (5 * length + 1):
            out = [0x80 | (n >> (6 * i) & 0x3F) for i in range(length - 1)]
            return bytes([first_mask | (n >> (6 * (length - 1))), *out[::-1]])
    raise ValueError(f"frame number {n} is too large for FLAC")


def _flac_frame_header(number: int, samples: int) -> bytes:
    block_code = 0b1100 if samples == _FLAC_BLOCK else 0b0111  # 4096, or a 16-bit size at the end
    head = bytes([0xFF, 0xF8, (block_code << 4) | 0b0111, 0b0000_1000]) + _utf8_number(number)
    if block_code == 0b0111:
        head += struct.pack(">H", samples - 1)
    return head + bytes([_crc8(head)])


def flac(seconds: float, seed: int = 0) -> Iterator[bytes]:
    """A FLAC stream: STREAMINFO (with the audio's MD5), then one verbatim-subframe frame per 4096 samples."""
    total = round(seconds * SAMPLE_RATE)
    md5 = hashlib.md5(usedforsecurity=False)
    for block in pcm_samples(seconds, seed):
        md5.update(block)
    info = struct.pack(">HH", _FLAC_BLOCK, _FLAC_BLOCK) + bytes(6)  # min/max frame size unknown
    info += ((SAMPLE_RATE << 44) | (0 << 41) | (15 << 36) | total).to_bytes(8, "big") + md5.digest()
    yield b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info
    for number, block in enumerate(pcm_samples(seconds, seed)):
        samples = len(block) // 2
        head = _flac_frame_header(number, samples)
        if samples == _FLAC_BLOCK:
            body, crc_after = _full_flac_block(_cycles_for(seed))
            crc = crc_after(_crc16(head))
        else:
            body = _verbatim_subframe(block)
            crc = _crc16(body, _crc16(head))
        yield head + body + struct.pack(">H", crc)


def _verbatim_subframe(block: bytes) -> bytes:
    samples = len(block) // 2
    return b"\x02" + struct.pack(f">{samples}h", *struct.unpack(f"<{samples}h", block))


@functools.lru_cache(maxsize=8)
def _full_flac_block(cycles: int) -> tuple[bytes, Callable[[int], int]]:
    """The subframe of a full tone block (every full block is identical) and its CRC continuation."""
    body = _verbatim_subframe(_tone_block(cycles))
    return body, _crc16_continuation(body)


ENCODERS: dict[str, Callable[[float, int], Iterator[bytes]]] = {
    "mp3": mp3,
    "opus": opus,
    "aac": aac,
    "flac": flac,
    "wav": wav,
    "pcm": pcm,
}
