"""Batch files: JSON lists, JSON lines and plain prompts, every entry checked before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediagen.domain.errors import InvalidRequest
from mediagen.domain.media import MediaType
from mediagen.entrypoints.batchfile import read_batch_file

IMAGE = {"media_type": "image"}


def batch(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def test_plain_prompts_one_a_line_skip_blank_and_comment_lines(tmp_path: Path) -> None:
    requests = read_batch_file(batch(tmp_path, "a fox\n\n# a note\n  a cat  \n"), IMAGE)
    assert [r.prompt for r in requests] == ["a fox", "a cat"]
    assert all(r.media_type is MediaType.IMAGE for r in requests)


def test_a_prompt_that_starts_with_a_bracket_is_a_prompt_not_broken_json(tmp_path: Path) -> None:
    requests = read_batch_file(batch(tmp_path, "[draft] a fox\n[wip] a cat\n"), IMAGE)
    assert [r.prompt for r in requests] == ["[draft] a fox", "[wip] a cat"]


def test_json_lines_and_prompts_mix_and_an_entry_may_set_its_own_media_type(tmp_path: Path) -> None:
    content = '{"prompt": "waves", "media_type": "video", "duration": 4}\na fox\n'
    video, image = read_batch_file(batch(tmp_path, content), IMAGE)
    assert (video.media_type, video.duration, image.prompt) == (MediaType.VIDEO, 4, "a fox")


def test_a_json_list_names_a_bad_entry_by_its_number(tmp_path: Path) -> None:
    content = '[\n  {"prompt": "a fox"},\n\n  {"prompt": "a cat", "size": "big"}\n]\n'
    with pytest.raises(InvalidRequest, match=r"prompts.txt entry 2: .*size") as caught:
        read_batch_file(batch(tmp_path, content), IMAGE)
    assert caught.value.field == "file"
    assert [r.prompt for r in read_batch_file(batch(tmp_path, '[{"prompt": "a fox"}]'), IMAGE)] == ["a fox"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a fox\ncaf\xe9 au lait\n", r"line 2: byte 0xe9 is not UTF-8 text; save the file as UTF-8"),
        ('a fox\n{"prompt": }\n', r"line 2: invalid JSON"),
        ('[\n {"prompt": "a"},\n {"prompt": }\n]', r"line 3: invalid JSON"),
        ('["a fox"]', r"entry 1: expected an object with a prompt"),
        ("\n# only a note\n", r"holds no requests"),
    ],
)
def test_a_bad_file_is_an_invalid_request_naming_where(tmp_path: Path, content: str | bytes, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message) as caught:
        read_batch_file(batch(tmp_path, content), IMAGE)
    assert caught.value.field == "file"
