"""The tables of docs/backends/xai.md, rendered from SPEC and the mapping's value tables (one source of truth).

`python -m mediagen.adapters.xai.docs [PATH]` rewrites the generated block of the page in place;
a test fails when the page and the spec disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mediagen.adapters.backend_page import GeneratedBlock, spec_sections
from mediagen.adapters.xai.spec import (
    DEFAULT_EXTENSION_SECONDS,
    DEFAULT_VIDEO_SECONDS,
    EXTENSION_SECONDS,
    IMAGE_MEGAPIXELS,
    IMAGES_PER_CALL,
    SPEC,
    VIDEO_SECONDS,
    VIDEO_SHORT_SIDES,
)


def _lines() -> list[str]:
    lines = spec_sections(SPEC)
    lines += [
        "",
        "### Which gRPC call serves what",
        "",
        "| xai-sdk call | gRPC method | Used for |",
        "|---|---|---|",
        "| `image.sample` | `/xai_api.Image/GenerateImage` | text to image, edits (every input image as a data URI), "
        "continued edits; answered in base64 |",
        f"| `image.sample_batch` | `/xai_api.Image/GenerateImage` (`n` up to {IMAGES_PER_CALL}) | several images of "
        "one request in one call, each its own file and continuation |",
        f"| `video.start` | `/xai_api.Video/GenerateVideo` | text or image to video, "
        f"{VIDEO_SECONDS[0]}–{VIDEO_SECONDS[-1]} s (default {DEFAULT_VIDEO_SECONDS} s) |",
        f"| `video.extend_start` | `/xai_api.Video/ExtendVideo` | extending an earlier video, "
        f"{EXTENSION_SECONDS[0]}–{EXTENSION_SECONDS[-1]} s (default {DEFAULT_EXTENSION_SECONDS} s) |",
        "| `video.get` | `/xai_api.Video/GetDeferredVideo` | polling a video request; the URL of a video to extend |",
        "",
        "### How sizes map",
        "",
        "| Asked | Sent |",
        "|---|---|",
        "| image `--size WxH` | the nearest aspect ratio and the resolution nearest in pixels: "
        + ", ".join(f"{name} ≈ {mp:g} MP" for name, mp in IMAGE_MEGAPIXELS.items())
        + " |",
        "| video `--size WxH` | the nearest aspect ratio and the resolution nearest by the short side: "
        + ", ".join(f"{name} = {side} px" for name, side in VIDEO_SHORT_SIDES.items())
        + " |",
        "| `--duration S` | whole seconds, nearest, within the range above (reported adapted when changed) |",
    ]
    return lines


PAGE = GeneratedBlock("mediagen.adapters.xai", Path("docs/backends/xai.md"), _lines)


if __name__ == "__main__":
    raise SystemExit(PAGE.main(sys.argv[1:]))
