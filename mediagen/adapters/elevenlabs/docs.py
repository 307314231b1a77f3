"""The tables of docs/backends/elevenlabs.md, rendered from SPEC and the spec's formats and ranges.

`python -m mediagen.adapters.elevenlabs.docs [PATH]` rewrites the generated block of the page in place;
a test fails when the page and the spec disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mediagen.adapters.backend_page import GeneratedBlock, spec_sections
from mediagen.adapters.elevenlabs.spec import (
    AREA_OF_KIND,
    CODEC_DEFAULTS,
    DESIGN_DESCRIPTION_CHARS,
    DESIGN_TEXT_CHARS,
    EFFECT_SECONDS,
    GUIDANCE_SCALE_RANGE,
    LOUDNESS_RANGE,
    MUSIC_OUTPUT_FORMATS,
    MUSIC_SECONDS,
    PROMPT_INFLUENCE_RANGE,
    SEED_RANGE,
    SPEC,
    SPEECH_OUTPUT_FORMATS,
    VOICE_SETTING_RANGES,
)

_ROUTES = {
    "speech": "`POST /v1/text-to-speech/{voice_id}` (names resolved with `GET /v1/voices`)",
    "music": "`POST /v1/music`",
    "sound_effect": "`POST /v1/sound-generation`",
    "voice_conversion": "`POST /v1/voice-changer/{voice_id}` (multipart)",
    "audio_isolation": "`POST /v1/audio-isolation` (multipart)",
    "voice_design": "`POST /v1/text-to-voice/design`, with `save_voice` also `POST /v1/text-to-voice`",
    "voice_clone": "`POST /v1/voices/add` (multipart), `POST /v1/text-to-speech/{voice_id}`, "
    "`DELETE /v1/voices/{voice_id}`",
    "dubbing": "`POST /v1/dubbing` (multipart), `GET /v1/dubbing/{id}` until dubbed, "
    "`GET /v1/dubbing/{id}/audio/{language}`",
}

_EXTRAS = [
    ("stability", "speech, voice_clone, voice_conversion", "0..1 voice setting (`--stability`)"),
    (
        "similarity (or similarity_boost)",
        "speech, voice_clone, voice_conversion",
        "0..1 voice setting (`--similarity`)",
    ),
    ("style", "speech, voice_clone, voice_conversion", "0..1 voice setting (`--style`)"),
    ("use_speaker_boost", "speech, voice_clone, voice_conversion", "true/false"),
    ("remove_background_noise", "voice_conversion, voice_clone", "true/false"),
    ("instrumental", "music", "true/false: `force_instrumental` (`--instrumental`)"),
    ("prompt_influence", "sound_effect", "0..1 (`--prompt-influence`)"),
    ("loop", "sound_effect", "true/false (`--loop`)"),
    ("save_voice", "voice_design", "true/false: save the first preview as a voice (`--save-voice`)"),
    ("voice_name", "voice_clone, voice_design", "the new voice's name (`--voice-name`)"),
    ("preview_text", "voice_design", f"{DESIGN_TEXT_CHARS[0]}..{DESIGN_TEXT_CHARS[1]} characters to speak"),
    ("loudness", "voice_design", f"{LOUDNESS_RANGE[0]:g}..{LOUDNESS_RANGE[1]:g}"),
    ("guidance_scale", "voice_design", f"{GUIDANCE_SCALE_RANGE[0]:g}..{GUIDANCE_SCALE_RANGE[1]:g}"),
    ("keep_voice", "voice_clone", "true/false: keep the new voice (deleted afterwards otherwise; `--keep-voice`)"),
    ("target_language", "dubbing", "the target language when `language` is not set"),
    ("source_language", "dubbing", "the input's language (default: detected)"),
    ("num_speakers", "dubbing", "0..32 (0: detected)"),
    ("drop_background_audio, highest_resolution, watermark", "dubbing", "true/false"),
]


def _range(bounds: tuple[float, float]) -> str:
    return f"{bounds[0]:g}..{bounds[1]:g}"


def _lines() -> list[str]:
    lines = spec_sections(SPEC)
    lines += ["", "### Which call each kind makes", "", "| Kind | Calls |", "|---|---|"]
    lines += [f"| {kind.value} | {_ROUTES[kind.value]} |" for kind in AREA_OF_KIND]
    lines += ["", "### Output formats", "", "| `--format` | Sent as |", "|---|---|"]
    lines += [f"| `{codec}` | `{names[0]}` |" for codec, names in CODEC_DEFAULTS.items()]
    lines += [
        "",
        f"Full names pass as named. Speech, sound effects, voice changer and voice design: "
        f"{', '.join(f'`{n}`' for n in SPEECH_OUTPUT_FORMATS)}.",
        "",
        f"Music: {', '.join(f'`{n}`' for n in MUSIC_OUTPUT_FORMATS)}.",
        "",
        "### Ranges (checked before any call)",
        "",
        "| Value | Range |",
        "|---|---|",
    ]
    for name, bounds in VOICE_SETTING_RANGES.items():
        lines.append(f"| `{name}` | {_range(bounds)} |")
    lines += [
        f"| `seed` | {SEED_RANGE[0]}..{SEED_RANGE[1]} |",
        f"| music `duration` (s) | {_range(MUSIC_SECONDS)} (outside: adapted, reported) |",
        f"| sound effect `duration` (s) | {_range(EFFECT_SECONDS)} (outside: adapted, reported) |",
        f"| `prompt_influence` | {_range(PROMPT_INFLUENCE_RANGE)} |",
        f"| voice design description (characters) | {DESIGN_DESCRIPTION_CHARS[0]}..{DESIGN_DESCRIPTION_CHARS[1]} |",
    ]
    lines += ["", "### Extras", "", "| `extra` key | Kinds | Meaning |", "|---|---|---|"]
    lines += [f"| `{key}` | {kinds} | {meaning} |" for key, kinds, meaning in _EXTRAS]
    return lines


PAGE = GeneratedBlock("mediagen.adapters.elevenlabs", Path("docs/backends/elevenlabs.md"), _lines)


if __name__ == "__main__":
    raise SystemExit(PAGE.main(sys.argv[1:]))
