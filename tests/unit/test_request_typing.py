"""MediaRequest's constructor is typed: `mypy --strict` refuses a wrong type in user code before it runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

USER_CODE = textwrap.dedent(
    """
    from pathlib import Path
    from mediagen import MediaRequest, MediaType

    ok = MediaRequest(media_type=MediaType.VIDEO, prompt="waves", duration=8, output_dir=Path("out"))
    also_ok = MediaRequest(media_type="image", prompt="a fox", input_images=["fox.png"], overwrite=True)
    long = MediaRequest(media_type=MediaType.VIDEO, prompt="waves", duration="long")  # line 7
    seeded = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", seed="7")  # line 8
    yes = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", overwrite="no")  # line 9
    number = MediaRequest(media_type=MediaType.IMAGE, prompt=5)  # line 10
    """
)


@pytest.mark.slow
def test_mypy_strict_refuses_wrong_argument_types_and_accepts_right_ones(tmp_path: Path) -> None:
    source = tmp_path / "user_code.py"
    source.write_text(USER_CODE)
    stdout, stderr, status = mypy_api.run(
        ["--strict", "--no-incremental", "--follow-imports=silent", "--show-error-codes", str(source)]
    )
    assert status == 1, stdout + stderr
    flagged = sorted({int(line.split(":")[1]) for line in stdout.splitlines() if "error:" in line})
    assert flagged == [7, 8, 9, 10], stdout
    assert all("[arg-type]" in line for line in stdout.splitlines() if "error:" in line), stdout
