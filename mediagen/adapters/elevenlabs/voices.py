"""Voices: names resolved against the account's voice list (cached for the process), voice design, voice clone.

A voice is named by its id or its name. Names are looked up in GET /v1/voices once per key and process; a name
that matches nothing is an error listing the close matches, raised before any paid call.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from mediagen.adapters.elevenlabs.client import ElevenLabsClients, ElevenLabsSettings, vendor_call
from mediagen.adapters.elevenlabs.files import opened
from mediagen.adapters.elevenlabs.mapping import ClonePlan, DesignPlan
from mediagen.adapters.elevenlabs.spec import BACKEND, DEFAULT_VOICE_ID, VOICE_ID_PATTERN
from mediagen.application.deadline import Deadline
from mediagen.domain.errors import BackendError, InvalidRequest, MediaGenError
from mediagen.domain.secret import Secret
from mediagen.domain.sniff import SNIFF_BYTES, sniff
from mediagen.ports.generator import GeneratedMedia, GenerationContext

#: What an ElevenLabs voice id looks like, so an id the list lacks (a library voice shared into the account, a voice
#: made a moment ago) still goes through as given.
_VOICE_ID = re.compile(VOICE_ID_PATTERN)


@attrs.frozen
class VoiceEntry:
    voice_id: str
    name: str

    @property
    def short_name(self) -> str:
        """The name before any " - description" (the voice library names voices "George - Warm storyteller")."""
        return self.name.split(" - ", 1)[0].strip()


def resolve_voice(wanted: str, voices: Sequence[VoiceEntry], *, field: str = "voice") -> str:
    """The voice id `wanted` names: an id, a name, or a name before its " - description", case-insensitive."""
    text = wanted.strip()
    for voice in voices:
        if voice.voice_id == text:
            return voice.voice_id
    lowered = text.lower()
    for by_short_name in (False, True):
        found = [v for v in voices if (v.short_name if by_short_name else v.name).lower() == lowered]
        if len(found) == 1:
            return found[0].voice_id
        if len(found) > 1:
            ids = ", ".join(f"{v.name} ({v.voice_id})" for v in found)
            raise InvalidRequest(f"{text!r} names more than one voice: {ids}; give the voice id", field=field)
    if _VOICE_ID.fullmatch(text):
        return text
    import difflib  # only for a voice name nobody has

    names = sorted({v.name for v in voices} | {v.short_name for v in voices})
    close = difflib.get_close_matches(text, names, n=5, cutoff=0.5) or difflib.get_close_matches(
        text.lower(), [n.lower() for n in names], n=5, cutoff=0.5
    )
    hint = f"close matches: {', '.join(close)}" if close else f"the account's voices: {', '.join(names[:20]) or 'none'}"
    raise InvalidRequest(f"no ElevenLabs voice {text!r}; {hint}", field=field)


class VoiceDirectory:
    """The account's voices, listed once per key for the life of the generator; concurrent first lookups share
    one listing."""

    def __init__(self, clients: ElevenLabsClients, settings: ElevenLabsSettings) -> None:
        self._clients = clients
        self._settings = settings
        self._voices: dict[Secret, tuple[VoiceEntry, ...]] = {}
        self._lock = asyncio.Lock()

    async def voice_id(self, wanted: str | None, ctx: GenerationContext, deadline: Deadline) -> str:
        """The id of the voice `wanted` names; the default voice when None. An id-shaped value still in the list
        (or any exact id) needs no listing when it is already known."""
        if wanted is None:
            return DEFAULT_VOICE_ID
        return resolve_voice(wanted, await self.voices(ctx.credentials, deadline))

    async def voices(self, key: Secret, deadline: Deadline) -> tuple[VoiceEntry, ...]:
        found = self._voices.get(key)
        if found is not None:
            return found
        async with self._lock:
            found = self._voices.get(key)
            if found is None:
                client = await self._clients.get(key, "voices")
                answer = await vendor_call(
                    client.voices.get_all(request_options=self._settings.request_options()),
                    deadline=deadline,
                    secret=key,
                )
                found = tuple(VoiceEntry(v.voice_id, str(v.name or "")) for v in answer.voices or () if v.voice_id)
                self._voices[key] = found
            return found


# --- voice design ---------------------------------------------------------------------------------------------------


def _decoded(preview: Any) -> bytes:
    try:
        return base64.b64decode(str(preview.audio_base_64), validate=True)
    except (binascii.Error, ValueError):
        raise BackendError("ElevenLabs sent a voice preview that is not base64 audio", backend=BACKEND) from None


async def design_voice(
    clients: ElevenLabsClients,
    settings: ElevenLabsSettings,
    plan: DesignPlan,
    ctx: GenerationContext,
    deadline: Deadline,
) -> GeneratedMedia:
    """Previews from the description; the file is the first preview, the metadata names every generated voice."""
    client = await clients.get(ctx.credentials, "text_to_voice")
    answer = await vendor_call(
        client.text_to_voice.design(
            **dict(plan.kwargs), output_format=plan.out.name, request_options=settings.request_options()
        ),
        deadline=deadline,
        secret=ctx.credentials,
    )
    previews = list(answer.previews or ())
    if not previews:
        raise BackendError("ElevenLabs designed no voice preview for this description", backend=BACKEND)
    audio = _decoded(previews[0])
    metadata: dict[str, Any] = {
        **plan.out.metadata(),
        "generated_voice_ids": [str(p.generated_voice_id) for p in previews],
        "generated_voice_id": str(previews[0].generated_voice_id),
        "preview_text": str(answer.text or ""),
        "previews": [
            {"generated_voice_id": str(p.generated_voice_id), "duration_secs": p.duration_secs} for p in previews
        ],
    }
    if plan.save_as is not None:
        voice = await vendor_call(
            client.text_to_voice.create(
                voice_name=plan.save_as,
                voice_description=str(plan.kwargs["voice_description"]),
                generated_voice_id=str(previews[0].generated_voice_id),
                request_options=settings.request_options(),
            ),
            deadline=deadline,
            secret=ctx.credentials,
        )
        metadata["voice_id"] = str(voice.voice_id)
        metadata["voice_name"] = plan.save_as
    found = sniff(audio[:SNIFF_BYTES])
    mime = plan.out.mime_type if found is None or plan.out.mime_type == "audio/pcm" else found
    return GeneratedMedia.from_bytes(
        audio, mime_type=mime, model=plan.model, metadata=metadata, parameters=plan.parameters
    )


# --- voice clone ----------------------------------------------------------------------------------------------------


class CreatedVoice:
    """A voice made for one generation, deleted when the generation is over unless it is to be kept."""

    def __init__(self, clients: ElevenLabsClients, settings: ElevenLabsSettings, plan: ClonePlan) -> None:
        self._clients = clients
        self._settings = settings
        self._plan = plan
        self.voice_id: str | None = None

    async def create(self, ctx: GenerationContext, deadline: Deadline) -> str:
        client = await self._clients.get(ctx.credentials, "voices.ivc")
        async with opened(self._plan.samples, cap=self._settings.max_upload_bytes) as uploads:
            answer = await vendor_call(
                client.voices.ivc.create(
                    name=self._plan.name,
                    files=list(uploads),
                    **dict(self._plan.create_kwargs),
                    request_options=self._settings.request_options(),
                ),
                deadline=deadline,
                secret=ctx.credentials,
            )
        if not answer.voice_id:
            raise BackendError("ElevenLabs made the voice but returned no voice id", backend=BACKEND)
        self.voice_id = str(answer.voice_id)
        return self.voice_id

    async def delete(self, key: Secret) -> str | None:
        """Delete the voice (shielded from cancellation, so an interrupted run still cleans up); the reason it
        could not be deleted, or None."""
        if self.voice_id is None or self._plan.keep_voice:
            return None
        voice_id, self.voice_id = self.voice_id, None

        async def remove() -> None:
            client = await self._clients.get(key, "voices")
            await client.voices.delete(voice_id, request_options=self._settings.request_options())

        task = asyncio.ensure_future(remove())
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await task
            raise
        except MediaGenError as error:
            return error.message
        except Exception as error:  # reported in the result or the error, never swallowed silently
            from mediagen.adapters.elevenlabs.errors import translate_elevenlabs_error

            return translate_elevenlabs_error(error, secret=key).message
        return None


def clone_metadata(plan: ClonePlan, voice_id: str, problem: str | None) -> Mapping[str, Any]:
    facts: dict[str, Any] = {"cloned_voice_id": voice_id, "voice_name": plan.name, "voice_kept": plan.keep_voice}
    if problem is not None:
        facts["voice_delete_failed"] = problem
    return facts
