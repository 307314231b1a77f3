"""Stored responses and video jobs to and from record files, so a sandbox in another process can continue them.

A response's image is its record's attachment (the body keeps no copy of it); a video job needs no media at all,
since its frames are drawn again from its size, length and content prompt.
"""

from __future__ import annotations

import base64
import copy
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import cattrs
from cattrs.errors import BaseValidationError

from mediagen.sandbox.faults import Fault
from mediagen.sandbox.openai.state import GeneratedImage, StoredResponse, VideoJob
from mediagen.sandbox.records import Record, RecordStore

log = logging.getLogger("mediagen.sandbox")
T = TypeVar("T")

RESPONSES = "responses"
IMAGE_CALLS = "image_calls"
VIDEOS = "videos"

_converter = cattrs.Converter()
_converter.register_unstructure_hook(Fault, str)
_converter.register_structure_hook(Fault, lambda value, _: Fault.parse(str(value)))


def response_record(stored: StoredResponse) -> tuple[dict[str, Any], bytes | None]:
    """A stored response as record data (its image call's base64 result left out) and its image's bytes."""
    body = copy.deepcopy(stored.body)
    for item in body.get("output") or []:
        if (
            isinstance(item, dict)
            and item.get("type") == "image_generation_call"
            and item.get("id") == stored.image_call_id
        ):
            item["result"] = None
    image = None
    if stored.image is not None:
        image = {
            "width": stored.image.width,
            "height": stored.image.height,
            "output_format": stored.image.output_format,
            "sources": list(stored.image.sources),
        }
    data = {
        "id": stored.id,
        "body": body,
        "prompt": stored.prompt,
        "previous_response_id": stored.previous_response_id,
        "image_call_id": stored.image_call_id,
        "image": image,
    }
    return data, None if stored.image is None else stored.image.data


def response_from_record(record: Record) -> StoredResponse:
    """The stored response a record holds, its body's image result restored from the attachment."""
    data = record.data
    image = None
    if data.get("image") is not None:
        if record.blob is None:
            raise ValueError(f"response record {data.get('id')!r} names an image but has no attachment")
        image = _converter.structure({**data["image"], "data": record.blob}, GeneratedImage)
    body = data["body"]
    if image is not None:
        for item in body.get("output") or []:
            if item.get("type") == "image_generation_call" and item.get("id") == data["image_call_id"]:
                item["result"] = base64.b64encode(image.data).decode()
    return StoredResponse(
        id=str(data["id"]),
        body=body,
        prompt=str(data["prompt"]),
        previous_response_id=data.get("previous_response_id"),
        image=image,
        image_call_id=data.get("image_call_id"),
    )


def video_record(job: VideoJob) -> dict[str, Any]:
    """A video job as record data: every field, its fault as the header syntax."""
    data: dict[str, Any] = _converter.unstructure(job)
    return data


def video_from_record(record: Record) -> VideoJob:
    return _converter.structure(record.data, VideoJob)


class OpenAIRecords:
    """The OpenAI fake's records: stored responses (with an index from image call ids) and video jobs."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store

    def load_response(self, response_id: str) -> StoredResponse | None:
        return self._load(RESPONSES, response_id, response_from_record)

    def save_response(self, stored: StoredResponse) -> None:
        data, blob = response_record(stored)
        self.store.save(RESPONSES, stored.id, data, blob=blob)
        if stored.image_call_id is not None:
            self.store.save(IMAGE_CALLS, stored.image_call_id, {"response_id": stored.id})

    def delete_response(self, stored: StoredResponse) -> None:
        self.store.delete(RESPONSES, stored.id)
        if stored.image_call_id is not None:
            self.store.delete(IMAGE_CALLS, stored.image_call_id)

    def response_of_call(self, call_id: str) -> str | None:
        """The id of the response whose image_generation_call is `call_id`."""
        record = self.store.load(IMAGE_CALLS, call_id)
        found = None if record is None else record.data.get("response_id")
        return found if isinstance(found, str) else None

    def load_video(self, video_id: str) -> VideoJob | None:
        return self._load(VIDEOS, video_id, video_from_record)

    def save_video(self, job: VideoJob) -> None:
        self.store.save(VIDEOS, job.id, video_record(job))

    def delete_video(self, video_id: str) -> None:
        self.store.delete(VIDEOS, video_id)

    def _load(self, kind: str, record_id: str, read: Callable[[Record], T]) -> T | None:
        """A record read with `read`; one that does not hold what its kind needs is ignored (and logged)."""
        record = self.store.load(kind, record_id)
        if record is None:
            return None
        try:
            return read(record)
        except (BaseValidationError, KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("sandbox record %s/%s is not a valid %s record, ignoring it: %s", kind, record_id, kind, exc)
            return None
