"""The ElevenLabs fake's text to speech, voice changer and audio isolation, through the real AsyncElevenLabs: every
output format the SDK lists comes back truly in that format, and requests are validated like the API."""

from __future__ import annotations

import json
import typing
from collections.abc import AsyncIterator
from typing import Any

import pytest
from elevenlabs import AsyncElevenLabs, VoiceSettings
from elevenlabs.core.api_error import ApiError
from elevenlabs.errors import UnprocessableEntityError
from elevenlabs.speech_to_speech.types import SpeechToSpeechConvertRequestOutputFormat
from elevenlabs.text_to_speech.types import (
    TextToSpeechConvertRequestOutputFormat,
    TextToSpeechStreamRequestOutputFormat,
)
from elevenlabs.types import HttpValidationError

from mediagen.domain.sniff import sniff
from mediagen.sandbox import Sandbox, media
from mediagen.sandbox.elevenlabs import catalog
from tests.sandbox.conftest import decode_errors, needs_ffprobe, probe

RACHEL = "21m00Tcm4TlvDq8ikWAM"


def literals(alias: Any) -> list[str]:
    out: list[str] = []
    for arg in typing.get_args(alias):
        if typing.get_origin(arg) is typing.Literal:
            out += typing.get_args(arg)
    return out


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


def raw_args(fmt: str) -> tuple[str, ...]:
    """ffmpeg input options for the headerless formats."""
    codec, rate = fmt.split("_")[:2]
    raw = {"pcm": "s16le", "ulaw": "mulaw", "alaw": "alaw"}.get(codec)
    return ("-f", raw, "-ar", rate, "-ac", "1") if raw else ()


CODECS = {"mp3": "mp3", "opus": "opus", "wav": "pcm_s16le", "pcm": "pcm_s16le", "ulaw": "pcm_mulaw", "alaw": "pcm_alaw"}
SNIFFED = {"mp3": "audio/mpeg", "opus": "audio/opus", "wav": "audio/wav"}


def test_the_format_lists_are_the_sdks() -> None:
    assert sorted(catalog.CONVERT_FORMATS) == sorted(literals(TextToSpeechConvertRequestOutputFormat))
    assert sorted(catalog.STREAM_FORMATS) == sorted(literals(TextToSpeechStreamRequestOutputFormat))
    assert sorted(catalog.CONVERT_FORMATS) == sorted(literals(SpeechToSpeechConvertRequestOutputFormat))


@pytest.mark.parametrize("fmt", catalog.CONVERT_FORMATS)
async def test_speech_comes_back_in_every_output_format(elevenlabs: AsyncElevenLabs, fmt: str) -> None:
    data = await collect(elevenlabs.text_to_speech.convert(RACHEL, text="Hello from the sandbox.", output_format=fmt))
    codec, rate = fmt.split("_")[:2]
    if codec in SNIFFED:
        assert sniff(data[:64]) == SNIFFED[codec]
    else:  # headerless: only the length tells
        bytes_per_second = int(rate) * (2 if codec == "pcm" else 1)
        assert len(data) == pytest.approx(bytes_per_second * len("Hello from the sandbox.") / 15, rel=0.01)


@needs_ffprobe
@pytest.mark.parametrize("fmt", catalog.CONVERT_FORMATS)
async def test_speech_decodes_at_the_asked_rate_and_bitrate(elevenlabs: AsyncElevenLabs, fmt: str) -> None:
    data = await collect(elevenlabs.text_to_speech.convert(RACHEL, text="x" * 45, output_format=fmt))
    info = probe(data, *raw_args(fmt))
    stream = info["streams"][0]
    codec, rate, *kbps = fmt.split("_")
    assert stream["codec_name"] == CODECS[codec]
    assert int(stream["sample_rate"]) == (48_000 if codec == "opus" else int(rate))
    assert float(info["format"]["duration"]) == pytest.approx(3.0, abs=0.1)  # 45 characters at 15 a second
    if kbps:
        assert int(info["format"]["bit_rate"]) == pytest.approx(int(kbps[0]) * 1000, rel=0.05)
    assert decode_errors(data, *raw_args(fmt)) == ""


async def test_speech_is_chunked_and_typed(elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs) -> None:
    async with elevenlabs.text_to_speech.with_raw_response.convert(
        RACHEL, text="y" * 3000, output_format="wav_44100"
    ) as response:
        assert response.headers["content-type"] == "audio/wav"
        assert response.headers.get("transfer-encoding") == "chunked"
        chunks = [chunk async for chunk in response.data]
    assert len(chunks) > 1
    assert sniff(chunks[0][:16]) == "audio/wav"


async def test_default_format_is_mp3_44100_128_and_the_request_is_recorded(
    elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs
) -> None:
    data = await collect(
        elevenlabs.text_to_speech.convert(
            RACHEL,
            text="Hola",
            model_id="eleven_flash_v2_5",
            language_code="es",
            seed=7,
            voice_settings=VoiceSettings(stability=0.3, similarity_boost=0.8, style=0.1, speed=1.1),
        )
    )
    assert data[:3] == b"\xff\xfb\x90"  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz
    sent = elevenlabs_sandbox.state("elevenlabs").requests_to(f"/v1/text-to-speech/{RACHEL}")[-1].params
    assert sent["voice_settings"] == {"stability": 0.3, "similarity_boost": 0.8, "style": 0.1, "speed": 1.1}
    assert (sent["model_id"], sent["language_code"], sent["seed"]) == ("eleven_flash_v2_5", "es", 7)


async def test_speed_shortens_the_speech(elevenlabs: AsyncElevenLabs) -> None:
    normal = await collect(elevenlabs.text_to_speech.convert(RACHEL, text="z" * 90, output_format="pcm_16000"))
    fast = await collect(
        elevenlabs.text_to_speech.convert(
            RACHEL, text="z" * 90, output_format="pcm_16000", voice_settings=VoiceSettings(speed=1.2)
        )
    )
    assert len(fast) < len(normal)


async def test_the_stream_route_streams_and_refuses_wav(elevenlabs: AsyncElevenLabs) -> None:
    data = await collect(elevenlabs.text_to_speech.stream(RACHEL, text="streamed", output_format="opus_48000_64"))
    assert sniff(data[:64]) == "audio/opus"
    with pytest.raises(UnprocessableEntityError) as refused:
        await collect(elevenlabs.text_to_speech.stream(RACHEL, text="streamed", output_format="wav_44100"))
    assert refused.value.body["detail"][0]["loc"] == ["query", "output_format"]


async def refusal(chunks: AsyncIterator[bytes]) -> ApiError:
    with pytest.raises(ApiError) as raised:
        await collect(chunks)
    return raised.value


@pytest.mark.parametrize(
    ("settings", "loc", "kind"),
    [
        ({"stability": 1.5}, ["body", "voice_settings", "stability"], "less_than_equal"),
        ({"similarity_boost": -0.1}, ["body", "voice_settings", "similarity_boost"], "greater_than_equal"),
        ({"style": 2}, ["body", "voice_settings", "style"], "less_than_equal"),
        ({"speed": 0.5}, ["body", "voice_settings", "speed"], "greater_than_equal"),
        ({"speed": 1.3}, ["body", "voice_settings", "speed"], "less_than_equal"),
        ({"stability": "high"}, ["body", "voice_settings", "stability"], "float_type"),
        ({"use_speaker_boost": "yes"}, ["body", "voice_settings", "use_speaker_boost"], "bool_type"),
        ({"warmth": 0.5}, ["body", "voice_settings", "warmth"], "extra_forbidden"),
    ],
)
async def test_voice_settings_out_of_range_are_422s_naming_the_field(
    elevenlabs: AsyncElevenLabs, settings: dict[str, Any], loc: list[str], kind: str
) -> None:
    error = await refusal(
        elevenlabs.text_to_speech.convert(RACHEL, text="hi", voice_settings=settings)  # type: ignore[arg-type]
    )
    assert error.status_code == 422
    body = HttpValidationError.model_validate(error.body)
    assert body.detail is not None
    assert (body.detail[0].loc, body.detail[0].type) == (loc, kind)


@pytest.mark.parametrize(
    ("kwargs", "loc", "kind"),
    [
        ({"output_format": "mp3_44100_999"}, ["query", "output_format"], "literal_error"),
        ({"optimize_streaming_latency": 9}, ["query", "optimize_streaming_latency"], "less_than_equal"),
        ({"seed": -1}, ["body", "seed"], "greater_than_equal"),
        ({"seed": 2**32}, ["body", "seed"], "less_than_equal"),
        ({"apply_text_normalization": "sometimes"}, ["body", "apply_text_normalization"], "literal_error"),
        ({"previous_request_ids": ["a", "b", "c", "d"]}, ["body", "previous_request_ids"], "too_long"),
        (
            {"request_options": {"additional_body_parameters": {"temperature": 1}}},
            ["body", "temperature"],
            "extra_forbidden",
        ),
        (
            {"request_options": {"additional_query_parameters": {"quality": "best"}}},
            ["query", "quality"],
            "extra_forbidden",
        ),
    ],
)
async def test_bad_parameters_are_422s_naming_the_field(
    elevenlabs: AsyncElevenLabs, kwargs: dict[str, Any], loc: list[str], kind: str
) -> None:
    error = await refusal(elevenlabs.text_to_speech.convert(RACHEL, text="hi", **kwargs))
    assert error.status_code == 422
    assert error.body == {"detail": [{"loc": loc, "msg": error.body["detail"][0]["msg"], "type": kind}]}


async def test_a_missing_text_is_a_422(elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs) -> None:
    error = await refusal(
        elevenlabs.text_to_speech.convert(RACHEL, text=None)  # type: ignore[arg-type]
    )
    assert error.status_code == 422
    assert error.body["detail"][0] == {"loc": ["body", "text"], "msg": "Field required", "type": "missing"}


async def test_unknown_voice_and_model_are_404s_in_the_detail_form(elevenlabs: AsyncElevenLabs) -> None:
    voice = await refusal(elevenlabs.text_to_speech.convert("nosuchvoice", text="hi"))
    assert voice.status_code == 404
    assert voice.body["detail"]["status"] == "voice_not_found"
    assert voice.body["detail"]["param"] == "voice_id"
    model = await refusal(elevenlabs.text_to_speech.convert(RACHEL, text="hi", model_id="eleven_v9"))
    assert (model.status_code, model.body["detail"]["code"], model.body["detail"]["param"]) == (
        404,
        "model_not_found",
        "model_id",
    )


async def test_model_rules_are_400s_naming_the_field(elevenlabs: AsyncElevenLabs) -> None:
    sts_model = await refusal(elevenlabs.text_to_speech.convert(RACHEL, text="hi", model_id="eleven_english_sts_v2"))
    assert (sts_model.status_code, sts_model.body["detail"]["param"]) == (400, "model_id")
    language = await refusal(
        elevenlabs.text_to_speech.convert(RACHEL, text="hi", model_id="eleven_multilingual_v2", language_code="en")
    )
    assert (language.status_code, language.body["detail"]["param"]) == (400, "language_code")
    too_long = await refusal(elevenlabs.text_to_speech.convert(RACHEL, text="a" * 5001, model_id="eleven_v3"))
    assert too_long.status_code == 400
    assert too_long.body["detail"]["status"] == "max_character_limit_exceeded"


async def test_the_api_key_header_is_required_and_a_set_key_is_enforced() -> None:
    import httpx

    from mediagen.sandbox import SandboxSettings

    async with Sandbox(vendors=("elevenlabs",), settings=SandboxSettings(api_key="right")) as sb:
        assert sb.env()["ELEVENLABS_API_KEY"] == "right"
        async with httpx.AsyncClient() as http:
            wrong = AsyncElevenLabs(api_key="wrong", base_url=sb.base_url("elevenlabs"), httpx_client=http)
            error = await refusal(wrong.text_to_speech.convert(RACHEL, text="hi"))
            assert (error.status_code, error.body["detail"]["status"]) == (401, "invalid_api_key")
            bare = await http.post(f"{sb.base_url('elevenlabs')}/v1/text-to-speech/{RACHEL}", json={"text": "hi"})
            assert bare.status_code == 401
            assert bare.json()["detail"]["status"] == "needs_authorization"
            right = AsyncElevenLabs(api_key="right", base_url=sb.base_url("elevenlabs"), httpx_client=http)
            assert sniff((await collect(right.text_to_speech.convert(RACHEL, text="hi")))[:4]) == "audio/mpeg"


def wav_bytes(seconds: float) -> bytes:
    return b"".join(media.speech_chunks("wav", seconds))


async def test_the_voice_changer_keeps_the_input_length_in_the_target_voice(
    elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs
) -> None:
    data = await collect(
        elevenlabs.speech_to_speech.convert(
            RACHEL,
            audio=("in.wav", wav_bytes(2.0), "audio/wav"),
            output_format="pcm_16000",
            model_id="eleven_multilingual_sts_v2",
            voice_settings=json.dumps({"stability": 0.5, "similarity_boost": 0.9}),
            remove_background_noise=True,
            seed=3,
        )
    )
    assert len(data) == 2 * 16_000 * 2
    sent = elevenlabs_sandbox.state("elevenlabs").requests_to(f"/v1/voice-changer/{RACHEL}")[-1]
    assert sent.params["remove_background_noise"] == "true"
    assert [f.filename for f in sent.files_named("audio")] == ["in.wav"]


async def test_the_voice_changer_refuses_what_the_api_refuses(elevenlabs: AsyncElevenLabs) -> None:
    not_audio = await refusal(elevenlabs.speech_to_speech.convert(RACHEL, audio=("x.txt", b"hello", "text/plain")))
    assert (not_audio.status_code, not_audio.body["detail"]["param"]) == (400, "audio")
    tts_model = await refusal(
        elevenlabs.speech_to_speech.convert(RACHEL, audio=wav_bytes(0.5), model_id="eleven_multilingual_v2")
    )
    assert (tts_model.status_code, tts_model.body["detail"]["param"]) == (400, "model_id")
    settings = await refusal(
        elevenlabs.speech_to_speech.convert(RACHEL, audio=wav_bytes(0.5), voice_settings='{"stability": 3}')
    )
    assert settings.status_code == 422
    assert settings.body["detail"][0]["loc"] == ["body", "voice_settings", "stability"]
    unknown = await refusal(elevenlabs.speech_to_speech.convert("nosuchvoice", audio=wav_bytes(0.5)))
    assert unknown.status_code == 404
    fmt = await refusal(
        elevenlabs.speech_to_speech.convert(RACHEL, audio=wav_bytes(0.5), file_format="flac")  # type: ignore[arg-type]
    )
    assert fmt.body["detail"][0]["loc"] == ["body", "file_format"]


async def test_raw_pcm_input_is_timed_by_its_samples(elevenlabs: AsyncElevenLabs) -> None:
    pcm = b"".join(media.audio_chunks(media.AudioFormat("pcm", 16_000), 1.5))
    data = await collect(
        elevenlabs.speech_to_speech.convert(RACHEL, audio=pcm, file_format="pcm_s16le_16", output_format="pcm_8000")
    )
    assert len(data) == 2 * 8_000 * 1.5


async def test_audio_isolation_answers_mp3_of_the_input_length(elevenlabs: AsyncElevenLabs) -> None:
    mp3 = b"".join(media.audio_chunks(media.AudioFormat("mp3", 44_100, 128_000), 2.0))
    data = await collect(elevenlabs.audio_isolation.convert(audio=("noisy.mp3", mp3, "audio/mpeg")))
    assert sniff(data[:4]) == "audio/mpeg"
    assert len(data) == pytest.approx(len(mp3), rel=0.02)
    streamed = await collect(elevenlabs.audio_isolation.stream(audio=wav_bytes(1.0)))
    assert sniff(streamed[:4]) == "audio/mpeg"
    error = await refusal(elevenlabs.audio_isolation.convert(audio=b"%PDF-1.7 not audio"))
    assert (error.status_code, error.body["detail"]["param"]) == (400, "audio")


def test_sync_client_speaks_too() -> None:
    from elevenlabs import ElevenLabs

    from mediagen.sandbox import SandboxThread

    with SandboxThread(("elevenlabs",)) as sb:
        client = ElevenLabs(api_key="k", base_url=sb.base_url("elevenlabs"))
        data = b"".join(client.text_to_speech.convert(RACHEL, text="sync", output_format="ulaw_8000"))
        assert len(data) == round(8_000 * 0.5)  # four characters: the half-second minimum
        assert [v.name for v in client.voices.search(search="adam").voices] == ["Adam"]


async def test_the_voice_changer_streams_from_its_stream_route(elevenlabs: AsyncElevenLabs) -> None:
    data = await collect(elevenlabs.speech_to_speech.stream(RACHEL, audio=wav_bytes(1.0), output_format="alaw_8000"))
    assert len(data) == 8_000
    error = await refusal(elevenlabs.speech_to_speech.stream(RACHEL, audio=wav_bytes(1.0), output_format="wav_8000"))  # type: ignore[arg-type]
    assert error.body["detail"][0]["loc"] == ["query", "output_format"]
