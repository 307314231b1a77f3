"""Veo: predictLongRunning starts an operation, fetchPredictOperation polls it until the video is done.

A finished video comes back as inline bytes, Vertex's normal answer; only when the request named a Cloud Storage
`storageUri` does it come back as a `gs://` URI under it (the fake keeps what it "wrote" there, so a later request can
extend the video by that URI). Operations carry no progress metadata: Vertex documents none for Veo
(`Operation.metadata` is an `Any`), so the fake sends none.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from mediagen.sandbox.faults import Fault
from mediagen.sandbox.google.catalog import (
    BLOCK_OUTPUT,
    BLOCK_PROMPT,
    FAIL_JOB,
    NEVER_FINISH,
    VEO_DURATIONS,
    VEO_INSTANCE_FIELDS,
    VEO_PARAMETERS,
    VEO_SIZES,
)
from mediagen.sandbox.google.schema import refuse_unknown
from mediagen.sandbox.google.state import VeoOperation, VideoFile
from mediagen.sandbox.google.wire import (
    GoogleApiError,
    as_list,
    as_object,
    check_image,
    decode,
    encode,
    invalid,
    single_instance,
)
from mediagen.sandbox.vendor import fault_of

if TYPE_CHECKING:
    from mediagen.sandbox.google.fake import GoogleFake


class VeoEndpoints:
    """Veo operations: submit, poll until done (or scripted failure), and the files videos may be served as."""

    def __init__(self, fake: GoogleFake) -> None:
        self.fake = fake

    async def submit(self, request: web.Request, model: str, body: dict[str, Any]) -> dict[str, Any]:
        if not model.startswith("veo-"):
            raise invalid(f"{model} does not generate videos")
        instance = single_instance(body)
        params = as_object(body.get("parameters", {}), "parameters")
        refuse_unknown(instance, VEO_INSTANCE_FIELDS, "instances[0]")
        refuse_unknown(params, VEO_PARAMETERS, "parameters")
        prompt = instance.get("prompt", "")
        if not isinstance(prompt, str):
            raise invalid("instances[0].prompt must be a string")
        image = self._frame(instance, "image")
        last = self._frame(instance, "lastFrame")
        video = self._source_video(instance)
        references = as_list(instance.get("referenceImages", []), "instances[0].reference_images")
        if not prompt.strip() and image is None and video is None:
            raise invalid("instances[0] needs a prompt, an image or a video")
        if len(references) > 3:
            raise invalid(f"At most 3 reference images are supported, got {len(references)}")
        for position, item in enumerate(references):
            reference = as_object(item, f"reference_images[{position}]")
            if str(reference.get("referenceType", "")).lower() not in ("asset", "style"):
                raise invalid(f"reference_images[{position}].reference_type must be asset or style")
            self._frame(reference, "image", required=True)
        if references and not model.startswith("veo-3.1-generate"):
            raise invalid(f"{model} does not support reference images")
        if references and image is not None:
            raise invalid("Reference images cannot be combined with a starting image")
        if last is not None and (image is None or not model.startswith("veo-3.1")):
            raise invalid("last_frame needs an image and a veo-3.1 model")
        count = params.get("sampleCount", 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 4:
            raise invalid(f"parameters.sampleCount must be 1 to 4, not {count!r}")
        seconds = params.get("durationSeconds", 8)
        if seconds not in VEO_DURATIONS or isinstance(seconds, bool):
            raise invalid(f"parameters.durationSeconds must be one of 4, 6, 8, not {seconds!r}")
        aspect = params.get("aspectRatio", "16:9")
        resolution = params.get("resolution", "720p")
        if (aspect, resolution) not in VEO_SIZES:
            raise invalid(f"Unsupported aspect ratio / resolution {aspect!r} / {resolution!r}")
        if resolution == "1080p" and seconds != 8:
            raise invalid("1080p videos must be 8 seconds long")
        if references and (seconds != 8 or aspect != "16:9"):
            raise invalid("Reference images need durationSeconds 8 and aspectRatio 16:9")
        if video is not None and resolution != "720p":
            raise invalid("Video extension supports 720p only")
        for name, kind in (("generateAudio", bool), ("enhancePrompt", bool), ("negativePrompt", str)):
            if name in params and not isinstance(params[name], kind):
                raise invalid(f"parameters.{name} must be a {kind.__name__}")
        seed = params.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32):
            raise invalid(f"parameters.seed must be an unsigned 32-bit integer, not {seed!r}")
        if BLOCK_PROMPT in prompt:
            raise invalid("The prompt could not be submitted: it violates the usage guidelines (sandbox marker).")
        width, height = VEO_SIZES[(aspect, resolution)]
        name = f"publishers/google/models/{model}/operations/{uuid.uuid4()}"
        operation = VeoOperation(
            name, model, prompt, seconds, width, height, seed,
            outcome=outcome_of(prompt),
            storage_uri=self._storage_uri(params),
            polls_needed=self.fake.context.settings.job_polls,
            source=None if video is None else (video if isinstance(video, str) else "inline"),
        )  # fmt: skip
        apply_job_fault(operation, fault_of(request))
        self.fake.state.keep_operation(operation)
        return {"name": name}

    def _storage_uri(self, params: Mapping[str, Any]) -> str | None:
        uri = params.get("storageUri")
        if uri is None:
            return None
        if not isinstance(uri, str) or not re.fullmatch(r"gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](/.*)?", uri):
            raise invalid(f"parameters.storageUri must be a Cloud Storage URI (gs://bucket/path), not {uri!r}")
        return uri.rstrip("/")

    def _frame(self, holder: Mapping[str, Any], key: str, *, required: bool = False) -> bytes | None:
        value = holder.get(key)
        if value is None:
            if required:
                raise invalid(f"{key} is required")
            return None
        image = as_object(value, key)
        if "gcsUri" in image:
            raise invalid(f"{key}.gcsUri cannot be read by the sandbox; send bytesBase64Encoded")
        return check_image(decode(image.get("bytesBase64Encoded")), key)

    def _source_video(self, instance: Mapping[str, Any]) -> bytes | str | None:
        value = instance.get("video")
        if value is None:
            return None
        video = as_object(value, "instances[0].video")
        uri = video.get("gcsUri")
        if uri is not None:
            # The sandbox has no Cloud Storage: it reads back only the videos it wrote under a storageUri.
            if not isinstance(uri, str) or not self.fake.state.has_file(file_id_of(uri)):
                raise invalid(f"instances[0].video.gcsUri {uri!r} cannot be read: no such object")
            return uri
        data = decode(video.get("bytesBase64Encoded"))
        if data[4:8] != b"ftyp":
            raise invalid("instances[0].video is not an MP4 video")
        return data

    async def poll(self, request: web.Request, model: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("operationName")
        operation = self.fake.state.operation(name) if isinstance(name, str) else None
        if operation is None or operation.model != model:
            raise GoogleApiError(404, f"Operation {name!r} was not found")
        if operation.poll_delay and await self.fake.context.pause(operation.poll_delay):
            raise GoogleApiError(503, "The sandbox is shutting down.")
        operation.polls += 1
        self.fake.state.keep_operation(operation)
        failing = operation.outcome == "fail" and operation.fail_at is not None and operation.polls >= operation.fail_at
        if not failing and (operation.outcome == "never" or operation.polls < operation.polls_needed):
            return {"name": name}  # proto3 JSON leaves `done: false` out
        done: dict[str, Any] = {"name": name, "done": True}
        if operation.outcome == "fail":
            error = {"code": operation.fail_code, "message": "Video generation failed (sandbox scripted failure)."}
            return {**done, "error": error}
        if operation.outcome == "filtered":
            reasons = ["The video was filtered by the sandbox's safety check (sandbox marker)."]
            return {**done, "response": {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": reasons}}
        video = await self._video(operation)
        response = {"@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"}
        return {**done, "response": {**response, "videos": [video], "raiMediaFilteredCount": 0}}

    async def _video(self, operation: VeoOperation) -> dict[str, Any]:
        settings = self.fake.context.settings
        drawn_from = VideoFile(
            operation.seconds, operation.width, operation.height, settings.video_fps, operation.prompt,
            operation.seed, settings.video_min_bytes,
        )  # fmt: skip
        if operation.storage_uri is not None:
            if operation.video_uri is None:
                operation.video_uri = f"{operation.storage_uri}/{operation.name.rsplit('/', 1)[-1]}/sample_0.mp4"
                plan = await asyncio.to_thread(drawn_from.plan)
                self.fake.state.keep_file(file_id_of(operation.video_uri), plan, drawn_from)
                self.fake.state.keep_operation(operation)
            return {"gcsUri": operation.video_uri, "mimeType": "video/mp4"}
        plan = await asyncio.to_thread(drawn_from.plan)
        data = b"".join(bytes(chunk) for chunk in plan.chunks())
        return {"bytesBase64Encoded": encode(data), "mimeType": "video/mp4"}


def file_id_of(uri: str) -> str:
    """The record a video written to Cloud Storage at `uri` is kept under."""
    return hashlib.sha256(uri.encode()).hexdigest()[:32]


def outcome_of(prompt: str) -> str:
    if NEVER_FINISH in prompt:
        return "never"
    if FAIL_JOB in prompt:
        return "fail"
    if BLOCK_OUTPUT in prompt:
        return "filtered"
    return "video"


def apply_job_fault(operation: VeoOperation, fault: Fault | None) -> None:
    """job_fails, job_never_finishes and slow_poll from the framework's fault scripts."""
    if fault is None:
        return
    if fault.name == "job_never_finishes":
        operation.outcome = "never"
    elif fault.name == "job_fails":
        operation.outcome = "fail"
        at = fault.params.get("at")
        operation.fail_at = None if at is None else max(1, int(fault.number("at", 1)))
        code = fault.params.get("code")
        operation.fail_code = int(code) if code is not None and code.isdigit() else 13
    elif fault.name == "slow_poll":
        operation.polls_needed = max(1, int(fault.number("polls", 10)))
        operation.poll_delay = fault.number("delay", 0.2)
