"""Sora: /v1/videos create (multipart or JSON), retrieve, list, delete, content download and remix."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from aiohttp import web

from mediagen.sandbox import media
from mediagen.sandbox.openai import catalog
from mediagen.sandbox.openai.images import decode_image
from mediagen.sandbox.openai.state import ReceivedRequest, VideoJob
from mediagen.sandbox.openai.wire import Params, bad_value, data_url_bytes, form_body, invalid_value, json_body
from mediagen.sandbox.vendor import ApiError, Upload, fault_of, stream_bytes

if TYPE_CHECKING:
    from mediagen.sandbox.openai.fake import OpenAIFake

CREATE_PARAMS = ("prompt", "model", "seconds", "size", "input_reference")
REMIX_PARAMS = ("prompt",)


async def _aiter(chunks: Iterator[bytes | memoryview]) -> AsyncIterator[bytes | memoryview]:
    for chunk in chunks:
        yield chunk


class VideoEndpoints:
    """The Videos (Sora) API of the OpenAI fake; jobs advance one status poll at a time."""

    def __init__(self, fake: OpenAIFake) -> None:
        self.fake = fake

    async def create(self, request: web.Request) -> web.StreamResponse:
        reference: Upload | None = None
        if request.content_type.startswith("multipart/"):
            form = await form_body(request)
            uploads = tuple(f for files in form.files.values() for f in files)
            self.fake.state.requests.append(ReceivedRequest(request.method, request.path, form.scalars(), uploads))
            for name in form.files:
                if name != "input_reference":
                    raise ApiError(400, f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
            params = Params(form.scalars(), textual=True)
            if params.given("input_reference"):
                raise bad_value("input_reference", "Expected a file for 'input_reference', got text.", "invalid_type")
            references = form.files.get("input_reference", [])
            if len(references) > 1:
                raise bad_value("input_reference", "Only one input_reference can be given.")
            reference = references[0] if references else None
        else:
            body = await json_body(request)
            self.fake.state.requests.append(ReceivedRequest(request.method, request.path, body))
            params = Params({k: v for k, v in body.items() if k != "input_reference"})
            reference = self._json_reference(body.get("input_reference"))
        params.reject_unknown(CREATE_PARAMS)
        prompt = params.string("prompt", required=True, max_length=catalog.MAX_PROMPT_CHARS)
        assert prompt is not None
        model = params.choice("model", tuple(catalog.VIDEO_MODELS), catalog.DEFAULT_VIDEO_MODEL)
        assert model is not None
        seconds = params.choice("seconds", catalog.VIDEO_SECONDS, catalog.DEFAULT_VIDEO_SECONDS)
        assert seconds is not None
        size = params.string("size") or catalog.DEFAULT_VIDEO_SIZE
        if size not in catalog.VIDEO_MODELS[model]:
            raise invalid_value("size", size, catalog.VIDEO_MODELS[model])
        reference_sha = None
        if reference is not None:
            width, height = decode_image(reference, "input_reference")
            if f"{width}x{height}" != size:
                raise bad_value(
                    "input_reference",
                    f"Inpaint image must match the requested width and height: the reference is {width}x{height}, "
                    f"the video is {size}.",
                )
            reference_sha = reference.sha256
        job = VideoJob(
            id=f"video_{uuid.uuid4().hex}",
            model=model,
            prompt=prompt,
            seconds=seconds,
            size=size,
            created_at=self.fake.context.now(),
            content_prompt=prompt,
            reference_sha256=reference_sha,
            fault=fault_of(request),
        )
        self.fake.state.keep_video(job)
        return web.json_response(job.to_json())

    def _json_reference(self, raw: object) -> Upload | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise bad_value(
                "input_reference", "Invalid type for 'input_reference': expected an object.", "invalid_type"
            )
        if raw.get("file_id"):
            raise bad_value("input_reference.file_id", f"File '{raw['file_id']}' not found.", "file_not_found")
        url = raw.get("image_url")
        if not isinstance(url, str):
            raise bad_value("input_reference", "input_reference needs an image_url or a file_id.")
        return Upload("input_reference", None, None, data_url_bytes(url, "input_reference.image_url"))

    def _job(self, request: web.Request) -> VideoJob:
        video_id = request.match_info["video_id"]
        job = self.fake.state.video(video_id)
        if job is None:
            raise ApiError(404, f"Video with id '{video_id}' not found.", param="video_id")
        return job

    async def retrieve(self, request: web.Request) -> web.StreamResponse:
        job = self._job(request)
        if job.fault is not None and job.fault.name == "slow_poll":
            await self.fake.context.pause(job.fault.number("delay", 0.2))
        if job.status not in ("completed", "failed"):
            job.advance(self.fake.context.settings, self.fake.context.now())
            self.fake.state.keep_video(job)
        return web.json_response(
            job.to_json(), headers={"openai-poll-after-ms": str(self.fake.context.settings.poll_after_ms)}
        )

    async def list(self, request: web.Request) -> web.StreamResponse:
        params = Params(dict(request.query), textual=True)
        limit = params.integer("limit", minimum=1, maximum=100) or 20
        order = params.choice("order", ("asc", "desc"), "desc")
        after = params.string("after")
        jobs = list(self.fake.state.videos.values())
        if order == "desc":
            jobs.reverse()
        if after is not None:
            ids = [j.id for j in jobs]
            jobs = jobs[ids.index(after) + 1 :] if after in ids else []
        page = jobs[:limit]
        data = [j.to_json() for j in page]
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
                "has_more": len(jobs) > limit,
            }
        )

    async def delete(self, request: web.Request) -> web.StreamResponse:
        job = self._job(request)
        self.fake.state.forget_video(job.id)
        return web.json_response({"id": job.id, "object": "video.deleted", "deleted": True})

    async def content(self, request: web.Request) -> web.StreamResponse:
        job = self._job(request)
        variant = Params(dict(request.query), textual=True).choice("variant", catalog.VIDEO_VARIANTS, "video")
        if job.status != "completed":
            raise ApiError(
                404,
                f"Video '{job.id}' has status '{job.status}'; its content is available once it is completed. "
                f"Poll GET /v1/videos/{job.id} until status is 'completed'.",
            )
        width, height = map(int, job.size.split("x"))
        if variant == "video":
            settings = self.fake.context.settings
            plan = await asyncio.to_thread(
                media.plan_mp4,
                float(job.seconds),
                width,
                height,
                fps=settings.video_fps,
                prompt=job.content_prompt,
                min_bytes=settings.video_min_bytes,
            )
            return await stream_bytes(request, _aiter(plan.chunks()), content_type="video/mp4", length=plan.size)
        fmt, still = ("webp", (width, height)) if variant == "thumbnail" else ("jpeg", (width // 2, height // 2))
        data = await asyncio.to_thread(media.image, *still, fmt, prompt=job.content_prompt)
        return await stream_bytes(
            request, _aiter(iter([data])), content_type=media.IMAGE_CONTENT_TYPES[fmt], length=len(data)
        )

    async def remix(self, request: web.Request) -> web.StreamResponse:
        source = self._job(request)
        body = await json_body(request)
        self.fake.state.requests.append(ReceivedRequest(request.method, request.path, body))
        params = Params(body)
        params.reject_unknown(REMIX_PARAMS)
        prompt = params.string("prompt", required=True, max_length=catalog.MAX_PROMPT_CHARS)
        assert prompt is not None
        if source.status != "completed":
            raise bad_value(
                "video_id", f"Video '{source.id}' is {source.status}; only completed videos can be remixed."
            )
        job = VideoJob(
            id=f"video_{uuid.uuid4().hex}",
            model=source.model,
            prompt=prompt,
            seconds=source.seconds,
            size=source.size,
            created_at=self.fake.context.now(),
            content_prompt=f"{source.content_prompt}\n{prompt}",
            remixed_from_video_id=source.id,
            reference_sha256=source.reference_sha256,
            fault=fault_of(request),
        )
        self.fake.state.keep_video(job)
        return web.json_response(job.to_json())
