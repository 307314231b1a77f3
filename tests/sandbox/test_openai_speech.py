"""The speech fake: every response_format is truly that format, and requests are validated like the API."""

from __future__ import annotations

import base64

import openai
import pytest
from openai import AsyncOpenAI

from mediagen.domain.sniff import sniff
from mediagen.sandbox import Sandbox
from tests.sandbox.conftest import needs_ffprobe, probe

SNIFFED = {"mp3": "audio/mpeg", "opus": "audio/opus", "aac": "audio/aac", "flac": "audio/flac", "wav": "audio/wav"}
CODECS = {"mp3": "mp3", "opus": "opus", "aac": "aac", "flac": "flac", "wav": "pcm_s16le", "pcm": "pcm_s16le"}
CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


@pytest.mark.parametrize("fmt", list(CODECS))
async def test_speech_comes_back_in_the_asked_format(client: AsyncOpenAI, fmt: str) -> None:
    speech = await client.audio.speech.create(
        model="gpt-4o-mini-tts",
        input="Hello from the sandbox.",
        voice="coral",
        response_format=fmt,  # type: ignore[arg-type]
    )
    data = speech.content
    assert speech.response.headers["content-type"] == CONTENT_TYPES[fmt]
    assert speech.response.headers.get("transfer-encoding") == "chunked"
    if fmt == "pcm":
        assert sniff(data[:64]) is None
        assert len(data) % 2 == 0
    else:
        assert sniff(data[:64]) == SNIFFED[fmt]


@needs_ffprobe
@pytest.mark.parametrize("fmt", list(CODECS))
async def test_speech_probes_as_the_right_codec(client: AsyncOpenAI, fmt: str) -> None:
    speech = await client.audio.speech.create(
        model="tts-1",
        input="x" * 45,
        voice="alloy",
        response_format=fmt,  # type: ignore[arg-type]
    )
    extra = ("-f", "s16le", "-ar", "24000", "-ac", "1") if fmt == "pcm" else ()
    info = probe(speech.content, *extra)
    assert info["streams"][0]["codec_name"] == CODECS[fmt]
    assert float(info["format"]["duration"]) == pytest.approx(3.0, abs=0.1)  # 45 characters at 15 per second


async def test_default_format_is_mp3_and_speed_shortens_the_audio(client: AsyncOpenAI) -> None:
    normal = await client.audio.speech.create(model="gpt-4o-mini-tts", input="y" * 60, voice="marin")
    fast = await client.audio.speech.create(model="gpt-4o-mini-tts", input="y" * 60, voice="marin", speed=2.0)
    assert sniff(normal.content[:4]) == "audio/mpeg"
    assert len(fast.content) < len(normal.content)


async def test_streamed_speech_arrives_in_several_chunks(client: AsyncOpenAI) -> None:
    async with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", input="z" * 600, voice="ash", response_format="wav"
    ) as response:
        chunks = [chunk async for chunk in response.iter_bytes(64 * 1024)]
    assert len(chunks) > 1
    assert sniff(chunks[0][:32]) == "audio/wav"


async def test_sse_stream_format_sends_base64_deltas_then_done(sandbox: Sandbox, client: AsyncOpenAI) -> None:
    async with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", input="hello", voice="sage", response_format="mp3", stream_format="sse"
    ) as response:
        text = await response.text()
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert '"speech.audio.done"' in events[-1]
    first = events[0]
    assert '"speech.audio.delta"' in first
    audio = base64.b64decode(first.split('"audio": "')[1].split('"')[0])
    assert sniff(audio[:4]) == "audio/mpeg"


@pytest.mark.parametrize(
    ("kwargs", "param", "fragment"),
    [
        ({"voice": "robot"}, "voice", "'alloy', 'ash', 'ballad', 'coral'"),
        ({"model": "tts-1", "voice": "marin"}, "voice", "Supported values are: 'alloy'"),
        ({"model": "tts-1", "instructions": "whisper"}, "instructions", "not supported for model 'tts-1'"),
        ({"speed": 5.0}, "speed", "Expected a value <= 4.0"),
        ({"speed": 0.1}, "speed", "Expected a value >= 0.25"),
        ({"response_format": "ogg"}, "response_format", "'mp3', 'opus', 'aac', 'flac', 'wav', and 'pcm'"),
        ({"input": "w" * 4097}, "input", "maximum length 4096"),
        ({"model": "tts-2"}, "model", "Invalid value: 'tts-2'"),
        ({"model": "tts-1-hd", "stream_format": "sse"}, "stream_format", "not supported for model 'tts-1-hd'"),
        ({"voice": {"id": "voice_123"}}, "voice", "Voice 'voice_123' not found"),
    ],
)
async def test_bad_speech_requests_are_refused_naming_the_parameter(
    client: AsyncOpenAI, kwargs: dict[str, object], param: str, fragment: str
) -> None:
    call = {"model": "gpt-4o-mini-tts", "input": "hi", "voice": "coral", **kwargs}
    with pytest.raises(openai.BadRequestError) as info:
        await client.audio.speech.create(**call)  # type: ignore[arg-type]
    assert info.value.param == param
    assert fragment in info.value.message


async def test_instructions_are_accepted_by_gpt_4o_mini_tts(sandbox: Sandbox, client: AsyncOpenAI) -> None:
    await client.audio.speech.create(model="gpt-4o-mini-tts", input="hi", voice="verse", instructions="cheerful")
    assert sandbox.state("openai").requests_to("/v1/audio/speech")[-1].params["instructions"] == "cheerful"
