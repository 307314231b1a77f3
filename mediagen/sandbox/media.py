"""Real media made on the fly: images of the asked pixel size, playable MP4s, speech in six formats.

Colours come from the prompt (and seed), so different prompts give visibly different results
and a derived image (an edit, a continuation, a remix) visibly keeps its source.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import math
from collections.abc import AsyncIterator, Iterator, Sequence

import attrs
from PIL import Image, ImageDraw

from mediagen.sandbox.codecs import audio, h264, isobmff

IMAGE_FORMATS = ("png", "jpeg", "webp")
SPEECH_FORMATS = tuple(audio.ENCODERS)
SPEECH_CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
IMAGE_CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
DEFAULT_CHUNK = 256 * 1024

RGB = tuple[int, int, int]


@attrs.frozen
class Palette:
    """Three colours derived from a text: background, shape, accent."""

    background: RGB
    shape: RGB
    accent: RGB

    @classmethod
    def of(cls, prompt: str, seed: int | None = None) -> Palette:
        digest = hashlib.sha256(f"{prompt}\0{seed}".encode()).digest()
        return cls(
            (digest[0], digest[1], digest[2]),
            (digest[3] | 0x40, digest[4] | 0x40, digest[5] | 0x40),
            (255 - digest[0], 255 - digest[1], 255 - digest[2]),
        )


def _check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ValueError(f"an image needs a positive size, got {width}x{height}")


def art(width: int, height: int, palette: Palette, *, transparent: bool = False) -> Image.Image:
    """The sandbox's picture: a flat background, a disc and a band, placed by the palette."""
    _check_size(width, height)
    mode = "RGBA" if transparent else "RGB"
    background = (*palette.background, 0) if transparent else palette.background
    img = Image.new(mode, (width, height), background)
    draw = ImageDraw.Draw(img)
    side = min(width, height)
    cx = width * (0.25 + (palette.background[0] / 255) * 0.5)
    cy = height * (0.25 + (palette.background[1] / 255) * 0.5)
    radius = side * 0.3
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=palette.shape)
    band = max(1, height // 12)
    draw.rectangle((0, height - 2 * band, width, height - band), fill=palette.accent)
    return img


def encode(img: Image.Image, fmt: str, *, compression: int | None = None) -> bytes:
    """Encode a Pillow image as png / jpeg / webp, fast settings; `compression` is 0-100 (OpenAI's sense)."""
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; use one of {', '.join(IMAGE_FORMATS)}")
    out = io.BytesIO()
    quality = 100 - compression if compression is not None else 90
    if fmt == "png":
        img.save(out, "PNG", compress_level=1)
    elif fmt == "jpeg":
        img.convert("RGB").save(out, "JPEG", quality=max(1, quality))
    else:
        img.save(out, "WEBP", quality=max(1, quality), method=0)
    return out.getvalue()


@functools.lru_cache(maxsize=64)
def _cached_image(
    width: int, height: int, fmt: str, palette: Palette, transparent: bool, compression: int | None
) -> bytes:
    return encode(art(width, height, palette, transparent=transparent), fmt, compression=compression)


def image(
    width: int,
    height: int,
    fmt: str = "png",
    *,
    prompt: str = "",
    seed: int | None = None,
    transparent: bool = False,
    compression: int | None = None,
) -> bytes:
    """An encoded image of exactly width x height pixels whose colours come from `prompt` and `seed`."""
    transparent = transparent and fmt != "jpeg"
    return _cached_image(width, height, fmt, Palette.of(prompt, seed), transparent, compression)


def open_image(data: bytes) -> Image.Image:
    """Decode image bytes (raises PIL.UnidentifiedImageError or OSError when they are not an image)."""
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def derive(
    sources: Sequence[bytes],
    width: int,
    height: int,
    fmt: str = "png",
    *,
    prompt: str = "",
    mask: bytes | None = None,
    transparent: bool = False,
    compression: int | None = None,
) -> bytes:
    """An image built from `sources`: the first fills the frame, the others sit as thumbnails along the
    bottom, and the prompt's colour paints where the mask is transparent (or a disc when there is no mask)."""
    _check_size(width, height)
    palette = Palette.of(prompt)
    base = open_image(sources[0]).convert("RGBA" if transparent else "RGB").resize((width, height))
    if mask is not None:
        alpha = open_image(mask).convert("RGBA").getchannel("A").resize((width, height))
        hole = alpha.point(lambda a: 255 if a == 0 else 0)
        base.paste(Image.new(base.mode, (width, height), palette.shape), (0, 0), hole)
    else:
        draw = ImageDraw.Draw(base)
        r = min(width, height) * 0.15
        draw.ellipse((width / 2 - r, height / 2 - r, width / 2 + r, height / 2 + r), fill=palette.shape)
    thumb = max(1, min(width, height) // 6)
    for i, extra in enumerate(sources[1:]):
        small = open_image(extra).convert(base.mode).resize((thumb, thumb))
        base.paste(small, (i * thumb % max(1, width - thumb + 1), height - thumb))
    return encode(base, fmt, compression=compression)


def image_size(data: bytes) -> tuple[int, int]:
    """The pixel size of encoded image bytes."""
    with Image.open(io.BytesIO(data)) as img:
        width, height = img.size
        return int(width), int(height)


# --- video -----------------------------------------------------------------------------------


@attrs.frozen
class Mp4Plan:
    """An MP4 laid out before any byte is sent: its exact size is known and its samples are shared
    references, so a 512 MiB file streams in constant memory."""

    head: bytes
    samples: tuple[bytes, ...]
    fps: int
    width: int
    height: int

    @property
    def size(self) -> int:
        return len(self.head) + sum(len(s) for s in self.samples)

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.fps

    def chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes | memoryview]:
        return isobmff.chunks(self.head, self.samples, chunk_size)


@functools.lru_cache(maxsize=4)
def _keyframes(width: int, height: int, palette: Palette) -> tuple[h264.Picture, bytes, bytes]:
    picture = h264.Picture.from_image(art(width, height, palette))
    return (
        picture,
        isobmff.length_prefixed(h264.idr_frame(picture, 0)),
        isobmff.length_prefixed(h264.idr_frame(picture, 1)),
    )


def plan_mp4(
    seconds: float,
    width: int,
    height: int,
    *,
    fps: int = 24,
    prompt: str = "",
    seed: int | None = None,
    min_bytes: int | None = None,
) -> Mp4Plan:
    """Lay out an H.264 MP4: one keyframe, then frames that grow a progress bar along the bottom.

    With `min_bytes`, every frame is a keyframe (alternating two shared encodings) and there are as
    many as it takes to reach that size; the clip gets longer accordingly.
    """
    if seconds <= 0 or fps < 1:
        raise ValueError(f"a video needs positive seconds and fps, got {seconds} s at {fps} fps")
    width, height = width + width % 2, height + height % 2
    picture, idr_a, idr_b = _keyframes(width, height, Palette.of(prompt, seed))
    geometry = picture.geometry
    frames = max(1, round(seconds * fps))
    if min_bytes is not None:
        frames = max(frames, math.ceil(min_bytes / len(idr_a)))
        samples = tuple(idr_a if i % 2 == 0 else idr_b for i in range(frames))
        sync = list(range(1, frames + 1))
    else:
        samples = (idr_a, *_progress_frames(geometry, frames, Palette.of(prompt, seed).accent))
        sync = [1]
    track = isobmff.Track(
        width=width,
        height=height,
        fps=fps,
        sps=h264.sequence_parameter_set(geometry, fps),
        pps=h264.picture_parameter_set(),
        sample_sizes=[len(s) for s in samples],
        sync_samples=sync,
    )
    return Mp4Plan(isobmff.header(track), samples, fps, width, height)


def _progress_frames(geometry: h264.Geometry, frames: int, colour: RGB) -> list[bytes]:
    bar = h264.solid_macroblock((255 - colour[0], 255 - colour[1], 255 - colour[2]))
    row = max(0, geometry.height // 16 - 1) * geometry.mb_width
    out, done = [], 0
    for i in range(1, frames):
        end = round(geometry.mb_width * i / max(1, frames - 1))
        coded = {row + col: bar for col in range(done, end)}
        done = end
        out.append(isobmff.length_prefixed(h264.p_frame(geometry, i, coded)))
    return out


def mp4(seconds: float, width: int, height: int, *, fps: int = 24, prompt: str = "", seed: int | None = None) -> bytes:
    """A complete H.264 MP4 of the given length and pixel size (odd sizes round up to even)."""
    return b"".join(plan_mp4(seconds, width, height, fps=fps, prompt=prompt, seed=seed).chunks())


async def mp4_stream(
    seconds: float,
    width: int,
    height: int,
    *,
    fps: int = 24,
    prompt: str = "",
    seed: int | None = None,
    min_bytes: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
) -> AsyncIterator[bytes | memoryview]:
    """The MP4 as async chunks, encoded off the event loop; memory stays flat whatever `min_bytes` is."""
    plan = await asyncio.to_thread(
        plan_mp4, seconds, width, height, fps=fps, prompt=prompt, seed=seed, min_bytes=min_bytes
    )
    for chunk in plan.chunks(chunk_size):
        yield chunk


# --- speech ----------------------------------------------------------------------------------


def speech_chunks(fmt: str, seconds: float, *, seed: int = 0) -> Iterator[bytes]:
    """Speech-length audio in `fmt` (mp3, opus, aac, flac, wav, pcm) as a stream of chunks."""
    try:
        encoder = audio.ENCODERS[fmt]
    except KeyError:
        raise ValueError(f"unknown speech format {fmt!r}; use one of {', '.join(SPEECH_FORMATS)}") from None
    if seconds <= 0:
        raise ValueError(f"speech needs a positive duration, got {seconds}")
    return encoder(seconds, seed)


@attrs.frozen
class AudioFormat:
    """An audio encoding with its sample rate and, for the lossy codecs, its bitrate in bits per second."""

    codec: str = attrs.field(validator=attrs.validators.in_(("mp3", "opus", "pcm", "wav", "ulaw", "alaw")))
    sample_rate: int
    bitrate: int | None = None

    @property
    def content_type(self) -> str:
        return AUDIO_CONTENT_TYPES[self.codec]


AUDIO_CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "pcm": "audio/pcm",
    "wav": "audio/wav",
    "ulaw": "audio/basic",
    "alaw": "audio/x-alaw-basic",
}


def audio_chunks(fmt: AudioFormat, seconds: float, *, seed: int = 0) -> Iterator[bytes]:
    """`seconds` of audio truly in `fmt` (codec, sample rate, bitrate), as a stream of chunks."""
    if seconds <= 0:
        raise ValueError(f"audio needs a positive duration, got {seconds}")
    if fmt.codec == "mp3":
        return audio.mp3(seconds, seed, sample_rate=fmt.sample_rate, bitrate=fmt.bitrate or 128_000)
    if fmt.codec == "opus":
        return audio.opus(seconds, seed, bitrate=fmt.bitrate, input_rate=fmt.sample_rate)
    if fmt.codec in ("ulaw", "alaw"):
        return audio.g711(seconds, seed, law=fmt.codec, sample_rate=fmt.sample_rate)
    if fmt.codec == "wav":
        return audio.wav(seconds, seed, sample_rate=fmt.sample_rate)
    return audio.pcm(seconds, seed, sample_rate=fmt.sample_rate)


def speech(fmt: str, seconds: float, *, seed: int = 0) -> bytes:
    """Speech-length audio that truly is `fmt`: WAV/PCM/FLAC carry a tone, MP3/AAC/Opus framed silence."""
    return b"".join(speech_chunks(fmt, seconds, seed=seed))
