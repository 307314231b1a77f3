"""The ElevenLabs fake knows exactly the fields the installed SDK sends: each endpoint's query, JSON, form and file
names are read from the SDK's own raw clients and compared with the fake's, so an SDK upgrade that adds or renames a
field fails here instead of being silently refused (or accepted) by the fake."""

from __future__ import annotations

import ast
import inspect
from types import ModuleType

import pytest
from elevenlabs.audio_isolation import raw_client as isolation
from elevenlabs.dubbing import raw_client as dubbing_client
from elevenlabs.music import raw_client as music
from elevenlabs.speech_to_speech import raw_client as sts
from elevenlabs.text_to_sound_effects import raw_client as sfx
from elevenlabs.text_to_speech import raw_client as tts
from elevenlabs.text_to_voice import raw_client as ttv
from elevenlabs.voices import raw_client as voices_client
from elevenlabs.voices.ivc import raw_client as ivc

from mediagen.sandbox.elevenlabs import design, dubbing, sound, speech, voices


def sent(module: ModuleType, method: str) -> dict[str, set[str]]:
    """The keys of the params/json/data/files dicts the SDK's async raw client builds in `method`."""
    tree = ast.parse(inspect.getsource(module))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name.startswith("AsyncRaw"))
    func = next(n for n in cls.body if isinstance(n, ast.AsyncFunctionDef) and n.name == method)
    call = next(
        n
        for n in ast.walk(func)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Attribute)
        and n.func.value.attr == "httpx_client"
    )
    out: dict[str, set[str]] = {}
    for keyword in call.keywords:
        if keyword.arg in ("params", "json", "data", "files"):
            keys = set()
            for sub in ast.walk(keyword.value):
                if isinstance(sub, ast.Dict):
                    keys |= {k.value for k in sub.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
            out[keyword.arg] = keys
    return out


CASES = {
    "text_to_speech.convert": (tts, "convert", {"params": speech.TTS_QUERY, "json": speech.TTS_BODY}),
    "text_to_speech.stream": (tts, "stream", {"params": speech.TTS_QUERY, "json": speech.TTS_BODY}),
    "speech_to_speech.convert": (
        sts,
        "convert",
        {"params": speech.TTS_QUERY, "data": speech.STS_FIELDS, "files": ("audio",)},
    ),
    "speech_to_speech.stream": (
        sts,
        "stream",
        {"params": speech.TTS_QUERY, "data": speech.STS_FIELDS, "files": ("audio",)},
    ),
    "audio_isolation.convert": (isolation, "convert", {"data": speech.ISOLATION_FIELDS, "files": ("audio",)}),
    "audio_isolation.stream": (isolation, "stream", {"data": ("file_format",), "files": ("audio",)}),
    "music.compose": (music, "compose", {"params": sound.LOGGING_QUERY, "json": sound.MUSIC_BODY}),
    "music.stream": (music, "stream", {"params": sound.LOGGING_QUERY, "json": sound.MUSIC_STREAM_BODY}),
    "text_to_sound_effects.convert": (sfx, "convert", {"params": sound.LOGGING_QUERY, "json": sound.SFX_BODY}),
    "text_to_voice.design": (ttv, "design", {"params": ("output_format",), "json": design.DESIGN_BODY}),
    "text_to_voice.create_previews": (
        ttv,
        "create_previews",
        {"params": ("output_format",), "json": design.PREVIEWS_BODY},
    ),
    "text_to_voice.create": (ttv, "create", {"json": design.CREATE_BODY}),
    "voices.search": (voices_client, "search", {"params": voices.SEARCH_QUERY}),
    "voices.get_all": (voices_client, "get_all", {"params": ("show_legacy",)}),
    "voices.get": (voices_client, "get", {"params": ("with_settings",)}),
    "voices.ivc.create": (ivc, "create", {"data": voices.ADD_FIELDS, "files": ("files",)}),
    "dubbing.create": (dubbing_client, "create", {"data": dubbing.CREATE_FIELDS, "files": dubbing.FILE_FIELDS}),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_fake_knows_exactly_the_fields_the_sdk_sends(
    case: tuple[ModuleType, str, dict[str, tuple[str, ...]]],
) -> None:
    module, method, fake = case
    assert sent(module, method) == {part: set(names) for part, names in fake.items()}
