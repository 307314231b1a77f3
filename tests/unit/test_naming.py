"""Artifact names: safe characters only, never empty, no path separators, bounded, extension from content."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediagen.adapters.sinks.naming import MAX_STEM_CHARS, UNTITLED, artifact_name, safe_filename, slugify

SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
EXTENSIONS = st.sampled_from(["png", "jpg", "webp", "mp4", "mp3", "wav", "pcm", "bin"])
SHORT_IDS = st.text(alphabet="0123456789abcdef", min_size=6, max_size=12)
MOMENTS = st.datetimes(min_value=datetime(1000, 1, 1))


@given(prompt=st.text(), max_len=st.integers(min_value=1, max_value=80))
def test_a_slug_is_lowercase_ascii_words_joined_by_dashes_and_bounded(prompt: str, max_len: int) -> None:
    slug = slugify(prompt, max_len)
    assert 1 <= len(slug) <= max_len
    assert SLUG.match(slug)


def test_a_slug_transliterates_accents_and_drops_what_has_no_ascii_form() -> None:
    assert slugify("Crème brûlée à Paris 🍮!") == "creme-brulee-a-paris"
    assert slugify("  A  red   FOX, at dawn  ") == "a-red-fox-at-dawn"


@pytest.mark.parametrize("prompt", ["", "   ", "🦊🦊", "!!!", "猫", "---"])
def test_a_prompt_without_usable_characters_slugs_to_untitled(prompt: str) -> None:
    assert slugify(prompt) == UNTITLED


def test_a_long_prompt_is_cut_without_a_trailing_dash() -> None:
    slug = slugify("a " * 100, max_len=10)
    assert slug == "a-a-a-a-a"


def test_a_slug_length_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_len"):
        slugify("fox", max_len=0)


@given(now=MOMENTS, backend=st.text(), prompt=st.text(), short_id=SHORT_IDS, ext=EXTENSIONS)
def test_a_generated_name_is_safe_bounded_and_has_every_part(
    now: datetime, backend: str, prompt: str, short_id: str, ext: str
) -> None:
    name = artifact_name(now, backend, prompt, short_id, ext)
    assert SAFE_NAME.match(name)
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert name.startswith(now.strftime("%Y%m%d-%H%M%S") + "_")
    assert name.endswith(f"_{short_id}.{ext}")
    assert len(name) <= 15 + 1 + 32 + 1 + 40 + 1 + len(short_id) + 1 + len(ext)


def test_a_generated_name_reads_time_backend_prompt_id_and_extension() -> None:
    name = artifact_name(datetime(2025, 3, 4, 5, 6, 7), "openai", "A red fox at dawn", "a1b2c3", "png")
    assert name == "20250304-050607_openai_a-red-fox-at-dawn_a1b2c3.png"


@pytest.mark.parametrize(("short_id", "ext"), [("a1b2c3", "p/ng"), ("a1b2c3", ""), ("../x", "png"), ("", "png")])
def test_a_generated_name_refuses_an_unsafe_id_or_extension(short_id: str, ext: str) -> None:
    with pytest.raises(ValueError, match="must be lowercase letters and digits"):
        artifact_name(datetime(2025, 1, 1), "openai", "fox", short_id, ext)


@given(filename=st.text(), ext=EXTENSIONS)
def test_a_caller_filename_becomes_safe_with_the_content_extension(filename: str, ext: str) -> None:
    name = safe_filename(filename, ext)
    assert SAFE_NAME.match(name)
    assert "/" not in name and "\\" not in name
    assert not name.startswith((".", "-"))
    assert name not in (".", "..")
    assert name.endswith(f".{ext}")
    assert len(name) <= MAX_STEM_CHARS + 1 + 1 + len(ext)


@pytest.mark.parametrize(
    ("filename", "ext", "expected"),
    [
        ("photo.exe", "png", "photo.png"),
        ("photo", "png", "photo.png"),
        ("My Photo (1).JPG", "png", "My-Photo-1.png"),
        ("archive.tar.gz", "mp4", "archive.tar.mp4"),
        ("../../etc/passwd", "png", "passwd.png"),
        ("..\\evil.bat", "wav", "evil.wav"),
        (".bashrc", "png", "bashrc.png"),
        ("..", "png", "untitled.png"),
        ("🦊.png", "jpg", "untitled.jpg"),
        ("Résumé.pdf", "png", "Resume.png"),
        ("CON.txt", "png", "CON_.png"),
        ("-rf.png", "png", "rf.png"),
    ],
)
def test_a_caller_filename_keeps_its_safe_stem_and_takes_the_sniffed_extension(
    filename: str, ext: str, expected: str
) -> None:
    assert safe_filename(filename, ext) == expected
