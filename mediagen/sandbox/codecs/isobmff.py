"""A minimal ISO-BMFF (MP4) muxer for one H.264 video track, moov first so it streams."""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

import attrs

_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
_LANGUAGE_UND = 0x55C4
_U32_MAX = 0xFFFFFFFF


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def avc_configuration(sps: bytes, pps: bytes) -> bytes:
    """The avcC box: profile and level from the SPS, 4-byte NAL length prefixes."""
    return box(
        b"avcC",
        bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]),
        struct.pack(">H", len(sps)),
        sps,
        bytes([1]),
        struct.pack(">H", len(pps)),
        pps,
    )


@attrs.frozen
class Track:
    """What the sample tables describe: one video track of `sample_sizes` at `fps`."""

    width: int
    height: int
    fps: int
    sps: bytes
    pps: bytes
    sample_sizes: Sequence[int]
    sync_samples: Sequence[int]  # 1-based sample numbers of keyframes

    @property
    def duration_ms(self) -> int:
        return round(len(self.sample_sizes) * 1000 / self.fps)


def _sample_entry(track: Track) -> bytes:
    compressor = b"mediagen sandbox"
    return box(
        b"avc1",
        bytes(6),
        struct.pack(">H", 1),  # data_reference_index
        bytes(16),
        struct.pack(">HH", track.width, track.height),
        struct.pack(">II", 0x00480000, 0x00480000),  # 72 dpi
        bytes(4),
        struct.pack(">H", 1),  # frame_count
        bytes([len(compressor)]) + compressor.ljust(31, b"\0"),
        struct.pack(">Hh", 0x0018, -1),
        avc_configuration(track.sps, track.pps),
    )


def _sample_table(track: Track, data_offset: int) -> bytes:
    count = len(track.sample_sizes)
    chunk_offset = (
        full_box(b"co64", 0, 0, struct.pack(">IQ", 1, data_offset))
        if data_offset > _U32_MAX
        else full_box(b"stco", 0, 0, struct.pack(">II", 1, data_offset))
    )
    return box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack(">I", 1), _sample_entry(track)),
        full_box(b"stts", 0, 0, struct.pack(">III", 1, count, 1)),
        full_box(
            b"stss", 0, 0, struct.pack(f">I{len(track.sync_samples)}I", len(track.sync_samples), *track.sync_samples)
        ),
        full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, count, 1)),
        full_box(b"stsz", 0, 0, struct.pack(f">II{count}I", 0, count, *track.sample_sizes)),
        chunk_offset,
    )


def _movie(track: Track, data_offset: int) -> bytes:
    count = len(track.sample_sizes)
    mvhd = full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIII", 0, 0, 1000, track.duration_ms),
        struct.pack(">IH", 0x00010000, 0x0100),
        bytes(10),
        _MATRIX,
        bytes(24),
        struct.pack(">I", 2),  # next_track_ID
    )
    tkhd = full_box(
        b"tkhd",
        0,
        3,  # enabled, in movie
        struct.pack(">IIIII", 0, 0, 1, 0, track.duration_ms),
        bytes(8),
        struct.pack(">hhhH", 0, 0, 0, 0),
        _MATRIX,
        struct.pack(">II", track.width << 16, track.height << 16),
    )
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, track.fps, count, _LANGUAGE_UND, 0))
    hdlr = full_box(b"hdlr", 0, 0, bytes(4), b"vide", bytes(12), b"VideoHandler\0")
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    minf = box(b"minf", full_box(b"vmhd", 0, 1, bytes(8)), dinf, _sample_table(track, data_offset))
    return box(b"moov", mvhd, box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf)))


_FTYP = box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isom", b"iso2", b"avc1", b"mp41")


def header(track: Track) -> bytes:
    """ftyp + moov + the mdat box header: every byte before the first sample."""
    payload = sum(track.sample_sizes)
    if payload + 8 > _U32_MAX:
        mdat_header = struct.pack(">I4sQ", 1, b"mdat", payload + 16)  # 64-bit "largesize" form
    else:
        mdat_header = struct.pack(">I4s", payload + 8, b"mdat")
    # The chunk offset depends on moov's own size, which depends (only via stco/co64) on the offset.
    provisional = _movie(track, 0)
    offset = len(_FTYP) + len(provisional) + len(mdat_header)
    moov = _movie(track, offset)
    if len(moov) != len(provisional):  # crossed into co64
        offset = len(_FTYP) + len(moov) + len(mdat_header)
        moov = _movie(track, offset)
    return _FTYP + moov + mdat_header


def length_prefixed(nal: bytes) -> bytes:
    """A sample as MP4 stores it: the NAL unit behind a 4-byte big-endian length."""
    return struct.pack(">I", len(nal)) + nal


def chunks(head: bytes, samples: Sequence[bytes], chunk_size: int) -> Iterator[bytes | memoryview]:
    """The file as pieces of at most `chunk_size` bytes, without ever joining the samples."""
    yield head
    for sample in samples:
        view = memoryview(sample)
        for start in range(0, len(view), chunk_size):
            yield view[start : start + chunk_size]
