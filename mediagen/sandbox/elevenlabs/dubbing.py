"""Dubbing: POST /v1/dubbing (multipart: a file, the target language) starts a job; GET /v1/dubbing/{id} polls it
(dubbing -> dubbed over the sandbox's job_polls, or failed); GET /v1/dubbing/{id}/audio/{language_code} streams the
dubbed file, an MP4 for a video input (padded to video_min_bytes when set, in constant memory) or MP3 for audio."""

from __future__ import annotations

import asyncio
import struct
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from aiohttp import web

from mediagen.sandbox import media
from mediagen.sandbox.elevenlabs import catalog
from mediagen.sandbox.elevenlabs.inputs import (
    FAIL_MARKER,
    NEVER_FINISH_MARKER,
    check_markers,
    input_seconds,
    media_kind,
    seed_of,
    single_file,
    stream_audio,
)
from mediagen.sandbox.elevenlabs.state import DubbingJob, ReceivedRequest, iso_now
from mediagen.sandbox.elevenlabs.wire import ElevenLabsError, Fields, form_body, missing, query
from mediagen.sandbox.vendor import Upload, fault_of, stream_bytes

if TYPE_CHECKING:
    from mediagen.sandbox.elevenlabs.fake import ElevenLabsFake

CREATE_FIELDS = (
    "name",
    "source_url",
    "source_lang",
    "target_lang",
    "target_accent",
    "num_speakers",
    "watermark",
    "start_time",
    "end_time",
    "highest_resolution",
    "drop_background_audio",
    "use_profanity_filter",
    "dubbing_studio",
    "disable_voice_cloning",
    "mode",
    "csv_fps",
)
FILE_FIELDS = ("file", "csv_file", "foreground_audio_file", "background_audio_file")
MAX_SPEAKERS = 32
#: The dubbed video's longest side: inputs are scaled down to it (the sandbox draws every frame itself).
MAX_EDGE = 1280
DEFAULT_VIDEO = (640, 360)
DUBBED_AUDIO_FORMAT = "mp3_44100_128"


class DubbingEndpoints:
    """Dubbing jobs of the ElevenLabs fake."""

    def __init__(self, fake: ElevenLabsFake) -> None:
        self.fake = fake

    async def create(self, request: web.Request) -> web.StreamResponse:
        query(request, ())
        form = await form_body(request, FILE_FIELDS, CREATE_FIELDS)
        uploads = tuple(f for files in form.files.values() for f in files)
        self.fake.state.requests.append(ReceivedRequest(request.method, request.path, form.scalars(), uploads))
        fields = Fields(form.scalars(), ("body",), textual=True)
        fields.reject_unknown((*CREATE_FIELDS, *FILE_FIELDS))
        name = fields.string("name")
        source_url = fields.string("source_url")
        source_lang = fields.string("source_lang") or "auto"
        target_lang = fields.string("target_lang")
        if target_lang is None:
            raise missing(("body", "target_lang"))
        fields.string("target_accent")
        fields.integer("num_speakers", ge=0, le=MAX_SPEAKERS)
        for flag in (
            "watermark",
            "highest_resolution",
            "drop_background_audio",
            "use_profanity_filter",
            "disable_voice_cloning",
        ):
            fields.boolean(flag)
        editable = fields.boolean("dubbing_studio") or False
        start = fields.integer("start_time", ge=0)
        end = fields.integer("end_time", ge=0)
        mode = fields.choice("mode", ("automatic", "manual"), "automatic")
        fields.number("csv_fps", ge=0.0)
        upload = single_file(form, "file", required=False)
        csv_file = single_file(form, "csv_file", required=False)
        for extra in ("foreground_audio_file", "background_audio_file"):
            track = single_file(form, extra, required=False)
            if track is not None:
                media_kind(track, allow_video=False)
        target = catalog.dubbing_language(target_lang)
        if target is None:
            raise ElevenLabsError(
                400,
                "unsupported_language",
                f"Dubbing into '{target_lang}' is not supported; use one of {', '.join(catalog.DUBBING_LANGUAGES)}.",
                param="target_lang",
            )
        if source_lang != "auto" and catalog.dubbing_language(source_lang) is None:
            raise ElevenLabsError(
                400, "unsupported_language", f"'{source_lang}' is not a supported source language.", param="source_lang"
            )
        if upload is None and source_url is None:
            raise ElevenLabsError(400, "invalid_parameters", "Provide either file or source_url.", param="file")
        if upload is not None and source_url is not None:
            raise ElevenLabsError(
                400, "invalid_parameters", "Provide file or source_url, not both.", param="source_url"
            )
        if upload is None:
            raise ElevenLabsError(
                400,
                "invalid_parameters",
                f"The source {source_url} could not be fetched: the sandbox has no network; upload the file instead.",
                param="source_url",
            )
        if start is not None and end is not None and end <= start:
            raise ElevenLabsError(400, "invalid_parameters", "end_time must be after start_time.", param="end_time")
        if (mode == "manual") != (csv_file is not None):
            raise ElevenLabsError(
                400, "invalid_parameters", "A csv_file is needed for mode 'manual', and only then.", param="csv_file"
            )
        if name is not None:
            check_markers(name, "name")
        kind = media_kind(upload, allow_video=True)
        job = self._job(upload.data, kind, upload.filename, name, source_lang, target, editable)
        job.fault = fault_of(request)
        job.fails = FAIL_MARKER in (name or "")
        job.never_finishes = NEVER_FINISH_MARKER in (name or "")
        self.fake.state.keep_dubbing(job)
        return web.json_response({"dubbing_id": job.dubbing_id, "expected_duration_sec": round(job.duration * 1.5, 3)})

    def _job(
        self,
        data: bytes,
        kind: str,
        filename: str | None,
        name: str | None,
        source_lang: str,
        target: str,
        editable: bool,
    ) -> DubbingJob:
        if kind.startswith("video/"):
            seconds, width, height = mp4_facts(data)
            width, height = _fit(width or DEFAULT_VIDEO[0], height or DEFAULT_VIDEO[1])
            content_type, duration = "video/mp4", seconds or 4.0
        else:
            duration = input_seconds(Upload("file", filename, kind, data), kind)
            content_type, width, height = "audio/mpeg", 0, 0
        return DubbingJob(
            dubbing_id=uuid.uuid4().hex[:20],
            name=name or filename or "Untitled",
            source_language="en" if source_lang == "auto" else source_lang,
            target_language=target,
            created_at=iso_now(),
            content_type=content_type,
            duration=round(min(duration, catalog.MAX_SPEECH_SECONDS), 3),
            width=width,
            height=height,
            editable=editable,
        )

    def _known(self, request: web.Request) -> DubbingJob:
        dubbing_id = request.match_info["dubbing_id"]
        job = self.fake.state.dubbing(dubbing_id)
        if job is None:
            raise ElevenLabsError(
                404,
                "dubbing_not_found",
                f"A dubbing with id {dubbing_id} was not found.",
                type="not_found",
                param="dubbing_id",
            )
        return job

    async def get(self, request: web.Request) -> web.StreamResponse:
        query(request, ())
        job = self._known(request)
        if job.fault is not None and job.fault.name == "slow_poll":
            await self.fake.context.pause(job.fault.number("delay", 0.2))
        if job.status == "dubbing":
            job.advance(self.fake.context.settings)
            self.fake.state.keep_dubbing(job)
        return web.json_response(job.to_json())

    async def delete(self, request: web.Request) -> web.StreamResponse:
        query(request, ())
        job = self._known(request)
        self.fake.state.forget_dubbing(job.dubbing_id)
        return web.json_response({"status": "ok"})

    async def audio(self, request: web.Request) -> web.StreamResponse:
        query(request, ())
        job = self._known(request)
        language = request.match_info["language_code"]
        if catalog.dubbing_language(language) != job.target_language:
            raise ElevenLabsError(
                404,
                "language_not_found",
                f"The dubbing {job.dubbing_id} has no '{language}' track; it was dubbed into {job.target_language}.",
                type="not_found",
                param="language_code",
            )
        if job.status == "failed":
            raise ElevenLabsError(400, "dubbing_failed", f"The dubbing failed: {job.error}", param="dubbing_id")
        if job.status != "dubbed":
            raise ElevenLabsError(
                425,
                "dubbing_not_ready",
                f"The dubbing {job.dubbing_id} is still in progress; poll GET /v1/dubbing/{job.dubbing_id} until its "
                "status is 'dubbed'.",
                param="dubbing_id",
            )
        seed = seed_of("dub", job.dubbing_id, job.target_language)
        if not job.is_video:
            return await stream_audio(request, DUBBED_AUDIO_FORMAT, job.duration, seed)
        settings = self.fake.context.settings
        plan = await asyncio.to_thread(
            media.plan_mp4,
            job.duration,
            job.width,
            job.height,
            fps=settings.video_fps,
            prompt=f"{job.name}\n{job.target_language}",
            min_bytes=settings.video_min_bytes,
        )
        return await stream_bytes(request, _aiter(plan.chunks()), content_type="video/mp4", length=plan.size)


async def _aiter(chunks: Iterator[bytes | memoryview]) -> AsyncIterator[bytes | memoryview]:
    for chunk in chunks:
        yield chunk


def _fit(width: int, height: int) -> tuple[int, int]:
    """The size scaled down so its longest side is at most MAX_EDGE, both sides even."""
    scale = min(1.0, MAX_EDGE / max(width, height))
    return max(2, round(width * scale) // 2 * 2), max(2, round(height * scale) // 2 * 2)


_CONTAINERS = (b"moov", b"trak", b"mdia")


def mp4_facts(data: bytes) -> tuple[float | None, int | None, int | None]:
    """An MP4's duration (mvhd) and its first visual track's size (tkhd), from the box headers; None when absent."""
    seconds: float | None = None
    width = height = None
    stack = [(0, len(data))]
    boxes = 0
    while stack and boxes < 10_000:
        offset, end = stack.pop()
        while offset + 8 <= end and boxes < 10_000:
            boxes += 1
            size, kind = struct.unpack_from(">I4s", data, offset)
            header = 8
            if size == 1 and offset + 16 <= end:
                size, header = struct.unpack_from(">Q", data, offset + 8)[0], 16
            elif size == 0:
                size = end - offset
            if size < header or offset + size > end:
                break
            body = offset + header
            if kind in _CONTAINERS:
                stack.append((offset + size, end))
                offset, end = body, offset + size
                continue
            if kind == b"mvhd" and seconds is None and size >= header + 32:
                version = data[body]
                if version == 1:
                    scale, duration = struct.unpack_from(">IQ", data, body + 20)
                else:
                    scale, duration = struct.unpack_from(">II", data, body + 12)
                seconds = duration / scale if scale else None
            elif kind == b"tkhd" and width is None and size >= header + 84:
                w, h = struct.unpack_from(">II", data, offset + size - 8)
                if w >> 16 and h >> 16:
                    width, height = w >> 16, h >> 16
            offset += size
    return seconds, width, height
