"""What the xAI fake checks on every message before it acts on one: no field the proto lacks, no enum number the proto
does not name, and the inputs it reads (data URIs, URLs), refused with INVALID_ARGUMENT naming the field."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Iterator

import aiohttp
import grpc
from google.protobuf import unknown_fields
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from PIL import UnidentifiedImageError

from mediagen.sandbox import media
from mediagen.sandbox.rpc import RpcError

#: What the fake fetches from a URL it did not hand out itself at most (the gRPC message limit the SDK uses).
MAX_FETCH_BYTES = 20 * 1024 * 1024
FETCH_TIMEOUT = 10.0
_DATA_URI = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*);base64,(?P<data>.*)", re.DOTALL)


def invalid(field: str, message: str) -> RpcError:
    """INVALID_ARGUMENT whose details name the field first, as `field: why`."""
    return RpcError(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: {message}")


def check_message(message: Message) -> None:
    """Refuse a field the proto does not declare (anywhere in the message) and an enum number it does not name."""
    for path, problem in _problems(message, ""):
        raise invalid(path, problem)


def _problems(message: Message, prefix: str) -> Iterator[tuple[str, str]]:
    for unknown in unknown_fields.UnknownFieldSet(message):
        where = f"{prefix}{message.DESCRIPTOR.name}" if not prefix else prefix.rstrip(".")
        yield where, f"unknown field number {unknown.field_number} (not in {message.DESCRIPTOR.full_name})"
    for field, value in message.ListFields():
        name = f"{prefix}{field.name}"
        items = list(value) if _repeated(field) else [value]
        for index, item in enumerate(items):
            where = f"{name}[{index}]" if _repeated(field) else name
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                yield from _problems(item, f"{where}.")
            elif field.type == FieldDescriptor.TYPE_ENUM and item not in field.enum_type.values_by_number:
                yield where, f"{item} is not a value of {field.enum_type.full_name}"


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def enum_name(message: Message, field: str, prefix: str) -> str | None:
    """The set value of an enum field without its prefix (e.g. "16_9"), or None when it is not set."""
    descriptor = message.DESCRIPTOR.fields_by_name[field]
    value = getattr(message, field)
    if descriptor.has_presence and not message.HasField(field):
        return None
    name: str = descriptor.enum_type.values_by_number[value].name
    return name.removeprefix(prefix)


def decode_data_uri(text: str, field: str) -> bytes:
    """The bytes of a `data:<type>;base64,<data>` URI."""
    found = _DATA_URI.fullmatch(text)
    if found is None:
        raise invalid(field, "expected a data URI (data:image/<format>;base64,<data>) or an http(s) URL")
    try:
        return base64.b64decode(found["data"], validate=True)
    except (binascii.Error, ValueError):
        raise invalid(field, "the data URI's base64 does not decode") from None


async def check_image(data: bytes, field: str) -> tuple[int, int]:
    """The pixel size of image bytes, which must decode (off the event loop)."""
    try:
        img = await asyncio.to_thread(media.open_image, data)
    except (UnidentifiedImageError, OSError, ValueError):
        raise invalid(field, "the image could not be decoded (send PNG, JPEG or WebP)") from None
    width, height = img.size
    return int(width), int(height)


async def fetch(url: str, field: str) -> bytes:
    """GET a URL the fake did not hand out, as the service fetches an input by URL."""
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
            if response.status != 200:
                raise invalid(field, f"fetching {url} failed with HTTP {response.status}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(256 * 1024):
                size += len(chunk)
                if size > MAX_FETCH_BYTES:
                    raise invalid(field, f"{url} is larger than {MAX_FETCH_BYTES} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        raise invalid(field, f"fetching {url} failed: {type(exc).__name__}") from None


def is_http_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))
