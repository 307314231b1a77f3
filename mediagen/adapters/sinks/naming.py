"""Artifact file names: readable, unique, made only of safe characters. Pure functions, no I/O."""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import datetime
from typing import Final

from mediagen.domain.media import MediaType
from mediagen.domain.sniff import EXTENSIONS, media_type_of

#: What a slug falls back to when a prompt has no usable characters (an emoji, only punctuation, nothing).
UNTITLED: Final = "untitled"
#: Longest stem kept from a caller's `filename`; the whole name stays far below the usual 255-byte limit.
MAX_STEM_CHARS: Final = 100
#: Longest backend part of a generated name.
MAX_BACKEND_CHARS: Final = 32

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_NOT_STEM = re.compile(r"[^A-Za-z0-9._-]+")
_TOKEN = re.compile(r"^[a-z0-9]+$")
# Names Windows reserves for devices in every directory, whatever the extension.
_RESERVED_STEMS: Final = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
)


def _ascii(text: str) -> str:
    """Accented letters become their base letters (é -> e); what has no ASCII form is dropped."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


@functools.lru_cache(maxsize=256)  # a batch names many files from one prompt; the backend part repeats every time
def slugify(prompt: str, max_len: int = 40) -> str:
    """Lowercase ASCII words joined by '-', at most `max_len` characters, never empty."""
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    slug = _NOT_SLUG.sub("-", _ascii(prompt).lower()).strip("-")
    slug = slug[:max_len].rstrip("-")
    return slug or UNTITLED[:max_len]


def _token(value: str, what: str) -> str:
    if not _TOKEN.match(value):
        raise ValueError(f"{what} must be lowercase letters and digits, got {value!r}")
    return value


def artifact_name(now: datetime, backend: str, prompt: str, short_id: str, ext: str) -> str:
    """`{YYYYMMDD-HHMMSS}_{backend}_{prompt slug}_{short_id}.{ext}`; the short id keeps same-second names apart."""
    stamp = now.strftime("%Y%m%d-%H%M%S")
    backend_part = slugify(backend, MAX_BACKEND_CHARS)
    return f"{stamp}_{backend_part}_{slugify(prompt)}_{_token(short_id, 'short_id')}.{_token(ext, 'ext')}"


def safe_filename(filename: str, ext: str) -> str:
    """The caller's name with only its stem's safe characters kept and the extension of the actual content.

    "photo.exe" for a PNG becomes "photo.png": the extension never comes from user text.
    """
    stem = filename.replace("\\", "/").rsplit("/", 1)[-1]
    dot = stem.rfind(".")
    if dot > 0:
        stem = stem[:dot]
    stem = _NOT_STEM.sub("-", _ascii(stem))
    stem = re.sub(r"-{2,}", "-", stem).strip(".-")[:MAX_STEM_CHARS].rstrip(".-")
    if not stem:
        stem = UNTITLED
    if stem.split(".", 1)[0].lower() in _RESERVED_STEMS:
        stem = f"{stem}_"
    return f"{stem}.{_token(ext, 'ext')}"


def names_for_stem(filename: str, media_type: MediaType | None) -> list[str]:
    """Every name a file asked for as `filename` may end up with: its safe stem with each extension of the media
    type (the extension follows the content), so a taken one is found before the vendor is paid."""
    stem = safe_filename(filename, "bin").rsplit(".", 1)[0]
    extensions = {ext for mime, ext in EXTENSIONS.items() if media_type is None or media_type_of(mime) is media_type}
    return [f"{stem}.{ext}" for ext in sorted(extensions)]
