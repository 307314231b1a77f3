"""ElevenLabsGenerator: routes an audio request to its kind's area (speech, music, effects, voices, changer,
isolation, dubbing)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs

from mediagen.adapters.elevenlabs.changer import change_voice, isolate_audio
from mediagen.adapters.elevenlabs.client import ElevenLabsClients, ElevenLabsSettings
from mediagen.adapters.elevenlabs.dubbing import DubbingRunner
from mediagen.adapters.elevenlabs.effects import generate_sound_effect
from mediagen.adapters.elevenlabs.mapping import (
    map_audio_isolation,
    map_dubbing,
    map_music,
    map_sound_effect,
    map_speech,
    map_voice_clone,
    map_voice_conversion,
    map_voice_design,
)
from mediagen.adapters.elevenlabs.music import compose_music
from mediagen.adapters.elevenlabs.spec import SPEC
from mediagen.adapters.elevenlabs.speech import generate_speech
from mediagen.adapters.elevenlabs.voices import CreatedVoice, VoiceDirectory, clone_metadata, design_voice
from mediagen.application.deadline import Deadline
from mediagen.domain.backend import BackendSpec
from mediagen.domain.errors import InvalidRequest
from mediagen.domain.media import AudioKind
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions, GeneratedMedia, GenerationContext


class ElevenLabsGenerator:
    """One generator for every ElevenLabs kind; one AsyncElevenLabs, built on first use and shared by all calls."""

    def __init__(
        self,
        options: BackendOptions,
        *,
        spec: BackendSpec = SPEC,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        aiohttp: bool = True,
    ) -> None:
        """`aiohttp=False` keeps every call on httpx's own transport, the one a first call in a fresh process uses
        (see adapters/elevenlabs/client.py), so both transports can be held to the same behaviour."""
        self._spec = spec
        self._settings = ElevenLabsSettings.from_options(options)
        self._clients = ElevenLabsClients(self._settings, aiohttp=aiohttp)
        self._voices = VoiceDirectory(self._clients, self._settings)
        self._dubbing = DubbingRunner(self._clients, self._settings, sleep=sleep)
        self._clock = clock

    @property
    def spec(self) -> BackendSpec:
        return self._spec

    @property
    def settings(self) -> ElevenLabsSettings:
        return self._settings

    @property
    def clients(self) -> ElevenLabsClients:
        return self._clients

    async def prepare(self, credentials: Secret) -> None:
        """Import the SDK and build its AsyncElevenLabs for this key off the event loop (the registry calls this
        before the first call with the key, and `MediaService.warm_up` does), so no call waits for them."""
        await self._clients.get(credentials)

    async def warm_up(self, credentials: Secret | None) -> None:
        """For MediaService.warm_up: every SDK area the adapter calls (voices, dubbing, sound effects, ...), loaded off
        the event loop, and the client on aiohttp's transport at once, so the first call of any kind waits for none
        and every call is as cheap as a warm one."""
        await self._clients.warm_up(credentials)

    async def generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
        if not self._clients.switch_due:
            return await self._generate(request, ctx)
        # A first call on httpx's transport: its end (the stream closed, or the call failed) starts the switch.
        try:
            media = await self._generate(request, ctx)
        except BaseException:
            self._clients.call_ended()
            raise
        return attrs.evolve(media, stream=_ClosingStream(media.stream, _ending(self._clients.call_ended)))

    async def _generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
        deadline = Deadline.start(self._clock, ctx.timeout)
        model = self._spec.model(ctx.model)
        kind = request.effective_audio_kind
        if ctx.continuation is not None:
            raise InvalidRequest("ElevenLabs cannot continue an earlier generation", field="continue_from")
        strict = ctx.strict
        if kind is AudioKind.MUSIC:
            return await compose_music(
                self._clients, self._settings, map_music(request, ctx.model, model, strict=strict), ctx, deadline
            )
        if kind is AudioKind.SOUND_EFFECT:
            plan = map_sound_effect(request, ctx.model, model, strict=strict)
            return await generate_sound_effect(self._clients, self._settings, plan, ctx, deadline)
        if kind is AudioKind.VOICE_CONVERSION:
            conversion = map_voice_conversion(request, ctx.model, model, strict=strict)
            voice_id = await self._voices.voice_id(conversion.voice, ctx, deadline)
            return await change_voice(self._clients, self._settings, conversion, voice_id, ctx, deadline)
        if kind is AudioKind.AUDIO_ISOLATION:
            isolation = map_audio_isolation(request, ctx.model, model, strict=strict)
            return await isolate_audio(self._clients, self._settings, isolation, ctx, deadline)
        if kind is AudioKind.VOICE_DESIGN:
            design = map_voice_design(request, ctx.model, model, strict=strict)
            return await design_voice(self._clients, self._settings, design, ctx, deadline)
        if kind is AudioKind.VOICE_CLONE:
            return await self._clone(request, ctx, deadline)
        if kind is AudioKind.DUBBING:
            return await self._dubbing.run(map_dubbing(request, ctx.model, model, strict=strict), ctx, deadline)
        speech = map_speech(request, ctx.model, model, strict=strict)
        voice_id = await self._voices.voice_id(speech.voice, ctx, deadline)
        return await generate_speech(self._clients, self._settings, speech, voice_id, ctx, deadline)

    async def _clone(self, request: MediaRequest, ctx: GenerationContext, deadline: Deadline) -> GeneratedMedia:
        """Make the voice, speak the prompt in it, and delete it once the speech is read (or failed)."""
        plan = map_voice_clone(request, ctx.model, self._spec.model(ctx.model), strict=ctx.strict)
        voice = CreatedVoice(self._clients, self._settings, plan)
        try:
            voice_id = await voice.create(ctx, deadline)
            # Filled in when the stream closes: the service copies the metadata only after that.
            facts: dict[str, Any] = dict(clone_metadata(plan, voice_id, None))
            media = await generate_speech(
                self._clients, self._settings, plan.speech, voice_id, ctx, deadline, metadata=facts
            )
        except BaseException:
            await voice.delete(ctx.credentials)
            raise
        metadata = dict(media.metadata)
        return GeneratedMedia(
            stream=_ClosingStream(media.stream, _deleting(voice, ctx, metadata)),
            mime_type=media.mime_type,
            model=media.model,
            metadata=metadata,
            parameters=media.parameters,
        )

    async def aclose(self) -> None:
        await self._clients.aclose()


class _ClosingStream:
    """A call's stream that, once closed (read to the end, failed or abandoned), awaits `after` once: what the call
    still owes then (a note that the call ended, a cloned voice to delete)."""

    def __init__(self, stream: AsyncIterator[bytes], after: Callable[[], Awaitable[None]]) -> None:
        self._stream = stream
        self._after: Callable[[], Awaitable[None]] | None = after

    def __aiter__(self) -> _ClosingStream:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._stream.__anext__()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        after, self._after = self._after, None
        if after is None:
            return
        try:
            close = getattr(self._stream, "aclose", None)
            if close is not None:
                await close()
        finally:
            await after()


def _ending(ended: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def after() -> None:
        ended()

    return after


def _deleting(voice: CreatedVoice, ctx: GenerationContext, metadata: dict[str, Any]) -> Callable[[], Awaitable[None]]:
    """Delete the cloned voice, noting in `metadata` whether that worked."""

    async def after() -> None:
        voice_id = voice.voice_id
        problem = await voice.delete(ctx.credentials)
        if voice_id is not None:
            metadata["voice_deleted"] = problem is None
            if problem is not None:
                metadata["voice_delete_failed"] = problem

    return after
