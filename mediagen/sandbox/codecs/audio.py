"""Speech-shaped audio in real formats, written in pure Python.

Lossless formats (WAV, PCM, FLAC) and G.711 (mu-law, A-law) carry a quiet sine tone; the lossy ones
(MP3, AAC, Opus) carry correctly framed silence, whose frames need no psychoacoustic encoder: an
MPEG Layer III frame with zeroed side info, an AAC-LC block with no spectral bands, and the CELT
silence packet (padded to the asked bitrate). Sample rates and bitrates are parameters (PCM, WAV and
G.711 at any rate, MP3 at the MPEG-1 and MPEG-2 rates and bitrates). Every stream decodes in ffmpeg
and any player.
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


def pcm_samples(seconds: float, seed: int = 0, sample_rate: int = SAMPLE_RATE) -> Iterator[bytes]:
    """Signed 16-bit little-endian mono samples (24 kHz unless asked), in blocks of 4096 samples (the last one
    shorter)."""
    total = round(seconds * sample_rate)
    block = _tone_block(_cycles_for(seed))
    for start in range(0, total, _FLAC_BLOCK):
        n = min(_FLAC_BLOCK, total - start)
        yield block if n == _FLAC_BLOCK else block[: 2 * n]


def pcm(seconds: float, seed: int = 0, *, sample_rate: int = SAMPLE_RATE) -> Iterator[bytes]:
    """Raw PCM: 16-bit signed little-endian, mono, no header; 24 kHz (as OpenAI sends it) unless asked."""
    yield from pcm_samples(seconds, seed, sample_rate)


def wav(seconds: float, seed: int = 0, *, sample_rate: int = SAMPLE_RATE) -> Iterator[bytes]:
    """A RIFF/WAVE file (written by the standard `wave` module) around the PCM samples."""
    total = round(seconds * sample_rate)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.setnframes(total)
        writer.writeframesraw(b"")
        yield buffer.getvalue()  # the header, with the final sizes already in it
        buffer.seek(0)
        buffer.truncate()
        for block in pcm_samples(seconds, seed, sample_rate):
            writer.writeframesraw(block)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()


# --- MP3: MPEG-1 (32/44.1/48 kHz) or MPEG-2 (16/22.05/24 kHz) Layer III, mono --------------------

_MP3_RATES = {44_100: (3, 0), 48_000: (3, 1), 32_000: (3, 2), 22_050: (2, 0), 24_000: (2, 1), 16_000: (2, 2)}
_MP3_BITRATES = {  # kbit/s by bitrate index, for MPEG-1 (version bits 3) and MPEG-2 (2) Layer III
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
MP3_SAMPLE_RATES = tuple(_MP3_RATES)


def _mp3_frame(version: int, rate_index: int, bitrate_index: int, padded: bool, sample_rate: int) -> bytes:
    """A silent frame: the header, then zeroed side info and main data (part2_3_length 0 is silence)."""
    kbps = _MP3_BITRATES[version][bitrate_index]
    size = (144 if version == 3 else 72) * kbps * 1000 // sample_rate + padded
    # sync + version + Layer III + no CRC | bitrate, rate, padding | mono, original
    header = bytes(
        [0xFF, 0xE0 | version << 3 | 0b01 << 1 | 1, bitrate_index << 4 | rate_index << 2 | padded << 1, 0xC4]
    )
    return header + bytes(size - len(header))


def _mp3_bitrate_indices(version: int, bitrate: int, frames: int) -> Iterator[int]:
    """Each frame's bitrate index: the asked bitrate when the format has it, else its two neighbours mixed so the
    stream averages it (a variable-bitrate stream, e.g. 240 kbit/s from 224 and 256)."""
    table = _MP3_BITRATES[version]
    kbps = bitrate / 1000
    if kbps in table[1:]:
        index = table.index(int(kbps))
        for _ in range(frames):
            yield index
        return
    above = next((i for i in range(1, len(table)) if table[i] > kbps), len(table) - 1)
    below = max(1, above - 1)
    share = 0.0 if above == below else (kbps - table[below]) / (table[above] - table[below])
    owed = 0.0
    for _ in range(frames):
        owed += share
        if owed >= 0.5:
            owed -= 1
            yield above
        else:
            yield below


def mp3(seconds: float, seed: int = 0, *, sample_rate: int = SAMPLE_RATE, bitrate: int = 32_000) -> Iterator[bytes]:
    """An MP3 stream of silent frames with valid headers (no ID3 tag, as OpenAI sends), at an MPEG-1 or MPEG-2
    sample rate; frames are padded as the format requires so the stream keeps `bitrate` bits per second."""
    try:
        version, rate_index = _MP3_RATES[sample_rate]
    except KeyError:
        raise ValueError(f"MP3 has no sample rate {sample_rate}; use one of {MP3_SAMPLE_RATES}") from None
    samples_per_frame = 1152 if version == 3 else 576
    frames = max(1, math.ceil(seconds * sample_rate / samples_per_frame))
    cache: dict[tuple[int, bool], bytes] = {}
    slot_owed = 0
    pending: list[bytes] = []
    size = 0
    for index in _mp3_bitrate_indices(version, bitrate, frames):
        kbps = _MP3_BITRATES[version][index]
        # The padding slot keeps the average frame length exact: (coefficient * bitrate) % rate bytes owed per frame.
        slot_owed += (144 if version == 3 else 72) * kbps * 1000 % sample_rate
        padded = slot_owed >= sample_rate
        if padded:
            slot_owed -= sample_rate
        frame = cache.get((index, padded))
        if frame is None:
            frame = cache[index, padded] = _mp3_frame(version, rate_index, index, padded, sample_rate)
        pending.append(frame)
        size += len(frame)
        if size >= _CHUNK:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


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


def _opus_packet(bitrate: int | None) -> bytes:
    """A 20 ms CELT silence packet; with a bitrate, padded (RFC 6716 code 3, one CBR frame) to that many bits."""
    if bitrate is None:
        return _OPUS_SILENCE
    target = max(len(_OPUS_SILENCE) + 2, bitrate * 20 // 1000 // 8)
    frame = _OPUS_SILENCE[1:]
    padding = target - 2 - len(frame) - 1
    while padding > 0 and 2 + (padding // 254 + 1) + len(frame) + padding > target:
        padding -= 1
    lengths = b"\xff" * (padding // 254) + bytes([padding % 254])
    # TOC with code 3 (0b11), then the frame count byte: CBR, padding flag, one frame.
    return bytes([_OPUS_SILENCE[0] | 0b11, 0b0100_0001]) + lengths + frame + bytes(padding)


def opus(
    seconds: float, seed: int = 0, *, bitrate: int | None = None, input_rate: int = SAMPLE_RATE
) -> Iterator[bytes]:
    """An Ogg Opus file: OpusHead, OpusTags, then pages of one-second runs of silence packets (each padded to
    `bitrate` when one is given; `input_rate` is the rate OpusHead names as the source's)."""
    serial = 0x6D656469 ^ seed
    packet = _opus_packet(bitrate)
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, _OPUS_PRE_SKIP, input_rate, 0, 0)
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
        yield _ogg_page([packet] * count, granule=granule, serial=serial, sequence=sequence, flags=4 * last)
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


# --- G.711 mu-law and A-law (ITU-T G.711), 8 kHz, no header --------------------------------------


def _ulaw(sample: int) -> int:
    """One 16-bit linear sample as a mu-law byte (the reference encoder's steps: 14 bits, bias, segment)."""
    value = sample >> 2
    mask = 0x7F if value < 0 else 0xFF
    value = min(-value if value < 0 else value, 8159) + 0x21
    segment = max(0, value.bit_length() - 6)
    if segment > 7:  # past the last segment: the loudest code
        return 0x7F ^ mask
    return (segment << 4 | (value >> (segment + 1)) & 0x0F) ^ mask


def _alaw(sample: int) -> int:
    """One 16-bit linear sample as an A-law byte."""
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(-sample - 1 if sample < 0 else sample, 32_767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = exponent << 4 | (magnitude >> exponent) & 0x0F
    return (sign | code) ^ 0x55


@functools.lru_cache(maxsize=16)
def _g711_block(cycles: int, law: str) -> bytes:
    encode = _ulaw if law == "ulaw" else _alaw
    block = _tone_block(cycles)
    return bytes(encode(s) for s in struct.unpack(f"<{_FLAC_BLOCK}h", block))


def g711(seconds: float, seed: int = 0, *, law: str = "ulaw", sample_rate: int = 8_000) -> Iterator[bytes]:
    """Raw G.711 (`law` "ulaw" or "alaw"): one byte per sample, mono, no header, carrying the tone."""
    if law not in ("ulaw", "alaw"):
        raise ValueError(f"G.711 law must be 'ulaw' or 'alaw', got {law!r}")
    total = round(seconds * sample_rate)
    block = _g711_block(_cycles_for(seed), law)
    for start in range(0, total, _FLAC_BLOCK):
        yield block[: min(_FLAC_BLOCK, total - start)]


ENCODERS: dict[str, Callable[[float, int], Iterator[bytes]]] = {
    "mp3": mp3,
    "opus": opus,
    "aac": aac,
    "flac": flac,
    "wav": wav,
    "pcm": pcm,
}
