"""The object-store sink: artifacts streamed to S3 (or an S3-compatible store) in parts, never over an object.

`-o s3://bucket/prefix` (or the output_dir setting) sends results here. The client is aiobotocore (the `s3` extra),
chosen over obstore because S3 refuses to overwrite only through a conditional write (If-None-Match: *), and
obstore's object_store refuses that condition on multipart uploads, which a long video needs to stream in constant
memory; aiobotocore passes it on CompleteMultipartUpload. Credentials, region and endpoint come from the standard
AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL, or any source botocore
reads) and never appear in an error.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import PurePath
from typing import Any, Final

from mediagen.adapters.sinks.files import TWO_GIB, _accept, _gather, _joined, _read_head, _Tally, new_short_id
from mediagen.adapters.sinks.naming import artifact_name, names_for_stem, safe_filename
from mediagen.domain.errors import BackendError, ConfigurationError, FileExists, PathNotAllowed
from mediagen.domain.media import MediaType
from mediagen.domain.result import Artifact, ObjectUrl
from mediagen.domain.sniff import extension_for
from mediagen.ports.artifacts import ArtifactTarget

#: Bytes held before each part is sent: the sink's memory for one artifact (S3 wants parts of 5 MiB or more).
PART_BYTES: Final = 8 * 1024 * 1024
_SCHEME: Final = "s3:"
_NAME_ATTEMPTS: Final = 16


def object_place(place: PurePath | str | None) -> tuple[str, str] | None:
    """(bucket, prefix) when `place` names an object store (s3://bucket/prefix; a Path keeps one slash), else None."""
    if place is None:
        return None
    parts = place.parts if isinstance(place, PurePath) else PurePath(place).parts  # a path's parts are parsed once
    if not parts or parts[0] != _SCHEME:
        return None
    if len(parts) < 2:
        raise PathNotAllowed("an s3:// output needs a bucket: s3://bucket/prefix", path=str(place))
    return parts[1], "/".join(parts[2:])


class S3Sink:
    """Writes each artifact as one object under s3://bucket/prefix, completely or not at all, never over another.

    Up to PART_BYTES an artifact is one conditional PutObject; beyond, a multipart upload of PART_BYTES parts sent
    as they arrive, completed with the same condition (a failure or cancel aborts it, so no partial object stays).
    A generated name that exists gets a fresh id; a name the caller chose that exists is refused, as on disk.
    """

    def __init__(
        self,
        max_bytes: int = TWO_GIB,
        part_bytes: int = PART_BYTES,
        clock: Callable[[], datetime] = datetime.now,
        short_id: Callable[[], str] = new_short_id,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if part_bytes < 5 * 1024 * 1024:
            raise ValueError(f"S3 parts are at least 5 MiB, got part_bytes={part_bytes}")
        self._max_bytes = max_bytes
        self._part_bytes = part_bytes
        self._clock = clock
        self._short_id = short_id
        self._environ = os.environ if environ is None else environ
        self._client: Any = None
        self._context: Any = None
        self._lock = asyncio.Lock()
        self._prepared: set[str] = set()

    async def prepare(
        self,
        place: PurePath | str | None,
        *,
        media_type: MediaType | None = None,
        filename: str | None = None,
        overwrite: bool = False,
    ) -> None:
        """Before any vendor is called: the bucket exists and these credentials reach it; with a `filename`, no
        object holds its stem with an extension `media_type` can produce (FileExists), unless `overwrite`."""
        bucket, prefix = _place_or_fail(place)
        client = await self._s3()
        if bucket not in self._prepared:
            try:
                await client.head_bucket(Bucket=bucket)
            except Exception as error:
                raise _refused(error, bucket, f"s3://{bucket}") from None
            self._prepared.add(bucket)
        if filename is None or overwrite:
            return
        for name in names_for_stem(filename, media_type):
            key = _key(prefix, name)
            try:
                await client.head_object(Bucket=bucket, Key=key)
            except Exception as error:
                if _missing(error):
                    continue
                raise _refused(error, bucket, f"s3://{bucket}/{key}") from None
            raise _taken_name(bucket, key)

    async def write(
        self,
        stream: AsyncIterator[bytes],
        target: ArtifactTarget,
        *,
        mime_type: str,
        on_bytes: Callable[[int], None] | None = None,
    ) -> Artifact:
        bucket, prefix = _place_or_fail(target.output_dir)
        tally = _Tally(self._max_bytes, target.backend, on_bytes)
        pending = await _read_head(stream, tally)
        mime = _accept(_joined(pending), target, mime_type)
        ext = extension_for(mime)
        name = safe_filename(target.filename, ext) if target.filename is not None else self._new_name(target, ext)
        ended = await _gather(stream, tally, pending, limit=self._part_bytes)
        client = await self._s3()
        if ended:
            data = _joined(pending)
            await asyncio.to_thread(tally.sha256.update, data)  # the filesystem sink hashes in its write's thread too
            key = await self._put_whole(client, bucket, prefix, name, target, ext, data, mime)
        else:
            key = await self._put_parts(client, bucket, prefix, name, target, ext, stream, tally, pending, mime)
        return Artifact(
            path=ObjectUrl(f"s3://{bucket}/{key}"),
            mime_type=mime,
            size_bytes=tally.size,
            sha256=tally.sha256.hexdigest(),
        )

    async def discard(self, artifact: Artifact) -> None:
        """Take back an object this sink just wrote and nobody was told of (its continuation could not be saved)."""
        bucket, key = _place_or_fail(str(artifact.path))
        client = await self._s3()
        await _call(client.delete_object(Bucket=bucket, Key=key), bucket, f"s3://{bucket}/{key}")

    async def aclose(self) -> None:
        if self._context is not None:
            context, self._context, self._client = self._context, None, None
            await context.__aexit__(None, None, None)

    def _new_name(self, target: ArtifactTarget, ext: str) -> str:
        return artifact_name(self._clock(), target.backend, target.prompt, self._short_id(), ext)

    async def _put_whole(
        self, client: Any, bucket: str, prefix: str, name: str, target: ArtifactTarget, ext: str, data: bytes, mime: str
    ) -> str:
        for _ in range(_NAME_ATTEMPTS):
            key = _key(prefix, name)
            condition = {} if target.overwrite and target.filename is not None else {"IfNoneMatch": "*"}
            try:
                await client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=mime, **condition)
                return key
            except Exception as error:
                if not _exists(error):
                    raise _refused(error, bucket, f"s3://{bucket}/{key}") from None
            name = self._taken(bucket, key, target, ext)
        raise _no_free_name(bucket, prefix)

    async def _put_parts(
        self,
        client: Any,
        bucket: str,
        prefix: str,
        name: str,
        target: ArtifactTarget,
        ext: str,
        stream: AsyncIterator[bytes],
        tally: _Tally,
        pending: list[bytes],
        mime: str,
    ) -> str:
        key = await self._free_key(client, bucket, prefix, name, target, ext)
        where = f"s3://{bucket}/{key}"
        created = await _call(client.create_multipart_upload(Bucket=bucket, Key=key, ContentType=mime), bucket, where)
        upload_id = created["UploadId"]
        try:
            parts: list[dict[str, Any]] = []
            ended = False
            while True:
                number = len(parts) + 1
                body = _joined(pending)
                await asyncio.to_thread(tally.sha256.update, body)
                sent = await _call(
                    client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body),
                    bucket,
                    where,
                )
                parts.append({"ETag": sent["ETag"], "PartNumber": number})
                if ended:
                    break
                pending = []
                ended = await _gather(stream, tally, pending, limit=self._part_bytes)  # the vendor's errors pass as is
                if ended and not pending:
                    break
            condition = {} if target.overwrite and target.filename is not None else {"IfNoneMatch": "*"}
            done = client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}, **condition
            )
            try:
                await done
            except Exception as error:
                if _exists(error):
                    raise PathNotAllowed(
                        f"{where} was written by someone else while this upload ran; nothing was overwritten. "
                        "Generate again, or choose another filename",
                        path=where,
                    ) from None
                raise _refused(error, bucket, where) from None
        except BaseException:
            # Shielded: a cancelled write still aborts its upload, so no part outlives it.
            await asyncio.shield(_abort(client, bucket, key, upload_id))
            raise
        return key

    async def _free_key(
        self, client: Any, bucket: str, prefix: str, name: str, target: ArtifactTarget, ext: str
    ) -> str:
        """A key nobody holds now; the completion's condition still refuses one taken meanwhile."""
        if target.overwrite and target.filename is not None:
            return _key(prefix, name)
        for _ in range(_NAME_ATTEMPTS):
            key = _key(prefix, name)
            try:
                await client.head_object(Bucket=bucket, Key=key)
            except Exception as error:
                if _missing(error):
                    return key
                raise _refused(error, bucket, f"s3://{bucket}/{key}") from None
            name = self._taken(bucket, key, target, ext)
        raise _no_free_name(bucket, prefix)

    def _taken(self, bucket: str, key: str, target: ArtifactTarget, ext: str) -> str:
        """The next name to try once `key` exists: a fresh id for a generated name; a chosen one is refused."""
        if target.filename is not None:
            raise _taken_name(bucket, key)
        return self._new_name(target, ext)

    async def _s3(self) -> Any:
        """The client, built once (concurrent first writes wait for the same one); botocore loads off the loop."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                session = await asyncio.to_thread(_session)
                region = self._environ.get("AWS_REGION") or self._environ.get("AWS_DEFAULT_REGION") or None
                endpoint = self._environ.get("AWS_ENDPOINT_URL_S3") or self._environ.get("AWS_ENDPOINT_URL") or None
                context = session.create_client("s3", region_name=region, endpoint_url=endpoint)
                self._client = await context.__aenter__()
                self._context = context
        return self._client


def _session() -> Any:
    """An aiobotocore session with the S3 model loaded (blocking: imports and JSON files)."""
    try:
        from aiobotocore.session import get_session
    except ImportError:
        raise ConfigurationError(
            "s3:// outputs need the s3 extra: pip install 'mediagen[s3]'", key="output_dir"
        ) from None
    session = get_session()
    loader = session.get_component("data_loader")  # caches what it reads, so creating the client reads no file
    for kind in ("service-2", "endpoint-rule-set-1"):
        loader.load_service_model("s3", kind)
    return session


def _taken_name(bucket: str, key: str) -> FileExists:
    return FileExists(
        f"s3://{bucket}/{key} already exists; pass overwrite=True (--overwrite) to replace it or choose another "
        "filename",
        path=f"s3://{bucket}/{key}",
    )


def _no_free_name(bucket: str, prefix: str) -> PathNotAllowed:
    where = f"s3://{bucket}/{prefix}"
    return PathNotAllowed(
        f"no free object name found under {where} after {_NAME_ATTEMPTS} attempts; choose another output place",
        path=where,
    )


def _place_or_fail(place: PurePath | str | None) -> tuple[str, str]:
    found = object_place(place)
    if found is None:
        raise PathNotAllowed(f"{place} is not an s3:// place", path=str(place))
    return found


def _key(prefix: str, name: str) -> str:
    return f"{prefix.rstrip('/')}/{name}" if prefix.strip("/") else name


def _code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status if isinstance(status, int) else None
    return None


def _exists(error: BaseException) -> bool:
    """The conditional write found an object at the key (412), or lost a race to one (409)."""
    return _code(error) in ("PreconditionFailed", "ConditionalRequestConflict") or _status(error) in (409, 412)


def _missing(error: BaseException) -> bool:
    return _code(error) in ("404", "NoSuchKey", "NotFound") or _status(error) == 404


def _refused(error: BaseException, bucket: str, where: str) -> Exception:
    """A typed error naming the place and the fix; only the service's error code, never its text or a credential."""
    name = type(error).__name__
    code = _code(error)
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return ConfigurationError(
            f"no AWS credentials for {where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile)",
            key="output_dir",
        )
    if code in ("NoSuchBucket", "404") or (code == "" and _status(error) == 404):
        return PathNotAllowed(f"bucket {bucket!r} does not exist; create it or choose another s3:// output", path=where)
    if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch") or _status(error) == 403:
        return PathNotAllowed(
            f"the AWS credentials may not write to {where} ({code or 403}); check the bucket policy or the keys",
            path=where,
        )
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"):
        return BackendError(
            f"cannot reach the object store for {where} ({name}); check AWS_ENDPOINT_URL and the network",
            backend="s3",
        )
    return BackendError(f"the object store refused {where} ({code or name})", backend="s3")


async def _call(request: Awaitable[Any], bucket: str, where: str) -> Any:
    """One S3 request, its failure as a typed error naming the place (never the service's text or a key)."""
    try:
        return await request
    except Exception as error:
        raise _refused(error, bucket, where) from None


async def _abort(client: Any, bucket: str, key: str, upload_id: str) -> None:
    try:
        await client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except Exception:  # the bucket's lifecycle rule for incomplete uploads is the backstop
        return
