"""Dubbing: a job. Create it (the file streamed from disk), report its id at once, poll it, then stream the dub.

The id is reported through `ctx.job_started` the moment the job exists, so an interrupted wait is resumed with
`mediagen jobs resume` (`ctx.resume_job_id`) instead of paying for a second dub. The dub comes in the input's kind:
MP3 for audio, MP4 for video; its type is read from its first bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from mediagen.adapters.elevenlabs.client import AudioStream, ElevenLabsClients, ElevenLabsSettings, vendor_call
from mediagen.adapters.elevenlabs.errors import timeout_error
from mediagen.adapters.elevenlabs.files import opened
from mediagen.adapters.elevenlabs.mapping import DubbingPlan
from mediagen.adapters.elevenlabs.spec import BACKEND
from mediagen.application.deadline import Deadline
from mediagen.domain.errors import BackendError
from mediagen.domain.sniff import SNIFF_BYTES, sniff
from mediagen.ports.generator import GeneratedMedia, GenerationContext
from mediagen.ports.progress import Polling

DONE = "dubbed"
FAILED = "failed"


class DubbingRunner:
    """One dub: submit (or resume), poll under the deadline, then hand back a stream of the result."""

    def __init__(
        self,
        clients: ElevenLabsClients,
        settings: ElevenLabsSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clients = clients
        self._settings = settings
        self._sleep = sleep

    async def run(self, plan: DubbingPlan, ctx: GenerationContext, deadline: Deadline) -> GeneratedMedia:
        if ctx.resume_job_id is not None:
            dubbing_id = ctx.resume_job_id
        else:
            dubbing_id = await self._submit(plan, ctx, deadline)
            await ctx.job_started(dubbing_id)
        job = await self._wait(dubbing_id, ctx, deadline)
        return await self._result(plan, dubbing_id, job, ctx, deadline)

    async def _submit(self, plan: DubbingPlan, ctx: GenerationContext, deadline: Deadline) -> str:
        client = await self._clients.get(ctx.credentials, "dubbing")
        async with opened([plan.source], cap=self._settings.max_dubbing_upload_bytes, video=True) as [upload]:
            answer = await vendor_call(
                client.dubbing.create(
                    file=upload, **dict(plan.kwargs), request_options=self._settings.request_options()
                ),
                deadline=deadline,
                secret=ctx.credentials,
            )
        if not answer.dubbing_id:
            raise BackendError("ElevenLabs accepted the dub but returned no dubbing id", backend=BACKEND)
        return str(answer.dubbing_id)

    async def _wait(self, dubbing_id: str, ctx: GenerationContext, deadline: Deadline) -> Any:
        """Poll until dubbed or failed, waiting longer each time (the API gives no hint)."""
        client = await self._clients.get(ctx.credentials, "dubbing")
        interval = self._settings.poll_interval
        while True:
            try:
                job = await vendor_call(
                    client.dubbing.get(dubbing_id, request_options=self._settings.request_options()),
                    deadline=deadline,
                    secret=ctx.credentials,
                    job_id=dubbing_id,
                )
            except BackendError as error:
                if error.status == 404:
                    raise BackendError(
                        f"ElevenLabs has no dubbing {dubbing_id} (deleted, expired or made with another key)",
                        backend=BACKEND,
                        status=404,
                    ) from None
                raise
            status = str(job.status or "")
            ctx.progress(Polling(status=status))
            if status == DONE:
                return job
            if status == FAILED:
                reason = str(getattr(job, "error", "") or "no reason given")
                raise BackendError(f"ElevenLabs dubbing {dubbing_id} failed: {reason}", backend=BACKEND)
            remaining = deadline.remaining()
            if remaining <= 0:
                raise timeout_error(deadline.seconds, job_id=dubbing_id)
            await self._sleep(min(interval, remaining))
            interval = min(interval * self._settings.poll_backoff, self._settings.poll_max_interval)

    async def _result(
        self, plan: DubbingPlan, dubbing_id: str, job: Any, ctx: GenerationContext, deadline: Deadline
    ) -> GeneratedMedia:
        client = await self._clients.get(ctx.credentials, "dubbing.audio")
        chunks = client.dubbing.audio.get(
            dubbing_id, plan.target_language, request_options=self._settings.request_options()
        )
        stream = await AudioStream.open(chunks, deadline=deadline, secret=ctx.credentials, job_id=dubbing_id)
        found = sniff(stream.first[:SNIFF_BYTES])
        mime = found if found is not None and found.startswith(("audio/", "video/")) else "audio/mpeg"
        metadata: dict[str, Any] = {
            "dubbing_id": dubbing_id,
            "target_language": plan.target_language,
            "status": str(job.status),
        }
        if getattr(job, "source_language", None):
            metadata["source_language"] = str(job.source_language)
        return GeneratedMedia(
            stream=stream, mime_type=mime, model=plan.model, metadata=metadata, parameters=plan.parameters
        )
