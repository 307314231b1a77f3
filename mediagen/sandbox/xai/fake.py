"""The xAI fake: xai-sdk's Image and Video services on a grpc.aio server, and the loopback HTTP server its image and
video URLs point at (an aiohttp app like every fake's), with xAI's bearer-key metadata and gRPC status answers."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import grpc
from aiohttp import web
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from xai_sdk.proto import image_pb2, video_pb2

from mediagen.sandbox.faults import Fault, FaultScope
from mediagen.sandbox.records import RecordStore
from mediagen.sandbox.rpc import RpcError, RpcMethod, RpcServer
from mediagen.sandbox.vendor import ApiError, FakeContext, Route, VendorFake
from mediagen.sandbox.xai.images import IMAGE_PATH, ImageService
from mediagen.sandbox.xai.state import VideoJob, XaiState
from mediagen.sandbox.xai.videos import VIDEO_PATH, VideoService
from mediagen.sandbox.xai.wire import check_image, decode_data_uri, fetch, invalid, is_http_url

SANDBOX_KEY = "sandbox-xai-key"
_NO_KEY = (
    "No API key was provided. Send it in the authorization metadata as 'Bearer <key>'. "
    "You can obtain an API key from https://console.x.ai."
)
_CREDITS_SPENT = (
    "Your team has either used all available credits or reached its monthly spending limit. To continue making API "
    "requests, please purchase more credits or raise your spending limit."
)
_BAD_KEY = "Incorrect API key provided. You can obtain an API key from https://console.x.ai."
#: A message the client cannot parse as any answer: field 1, length-delimited, announcing 2^32-1 bytes and ending.
_MALFORMED = b"\x0a\xff\xff\xff\xff\x0f\x01"


class XaiFake(VendorFake):
    """`xai_api.Image/GenerateImage` and `xai_api.Video/{GenerateVideo,ExtendVideo,GetDeferredVideo}` over gRPC at
    `base_url` (host:port), image and video downloads over HTTP at its origin."""

    name: ClassVar[str] = "xai"
    own_server: ClassVar[bool] = True  # base_url is the gRPC server's

    def __init__(self, context: FakeContext) -> None:
        super().__init__(context)
        self._state = XaiState(records=RecordStore.of(context))
        self.images = ImageService(self)
        self.videos = VideoService(self)
        self.origin = ""
        self.address = ""
        self._server: RpcServer | None = None

    @property
    def state(self) -> XaiState:
        return self._state

    # -- the framework's side ------------------------------------------------------------------------------------

    def routes(self) -> Iterable[Route]:
        download = frozenset({FaultScope.DOWNLOAD})
        return (
            Route("GET", f"{IMAGE_PATH}/{{name}}", self.images.download, "images.download", download),
            Route("GET", f"{VIDEO_PATH}/{{name}}", self.videos.download, "videos.download", download),
        )

    def methods(self) -> tuple[RpcMethod, ...]:
        job = frozenset({FaultScope.JOB})
        return (
            RpcMethod("xai_api.Image", "GenerateImage", image_pb2.GenerateImageRequest, self.images.generate),
            RpcMethod("xai_api.Video", "GenerateVideo", video_pb2.GenerateVideoRequest, self.videos.generate, job),
            RpcMethod("xai_api.Video", "ExtendVideo", video_pb2.ExtendVideoRequest, self.videos.extend, job),
            RpcMethod("xai_api.Video", "GetDeferredVideo", video_pb2.GetDeferredVideoRequest, self.videos.get),
        )

    async def start_servers(self, host: str, origin: str, port: int = 0) -> None:
        self.origin = origin
        self._server = RpcServer(self, self.methods())
        self.address = await self._server.start(host, port)

    async def stop_servers(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.stop()

    def base_url(self, origin: str) -> str:
        return self.address  # what xai_sdk takes as api_host (and mediagen as backends.xai.base_url)

    def env(self, base_url: str) -> dict[str, str]:
        return {
            "MEDIAGEN_BACKENDS__XAI__BASE_URL": base_url,
            "XAI_API_KEY": self.context.settings.api_key or SANDBOX_KEY,
        }

    def authenticate(self, request: web.Request) -> None:
        """The image and video URLs are public, as the service's are: anyone holding one fetches it until it expires."""

    def error_body(self, error: ApiError) -> dict[str, Any]:
        return {"code": error.code or str(error.status), "error": error.message}

    def fault_error(self, fault: Fault, request: web.Request) -> ApiError:
        """Request faults on a download URL, answered as a storage server does (status and a short body)."""
        if fault.name == "rate_limit":
            seconds = f"{fault.number('retry_after', 1):g}"
            return ApiError(429, "Too many requests.", code="SlowDown", headers={"Retry-After": seconds})
        if fault.name == "server_error":
            return ApiError(500, "We encountered an internal error. Please try again.", code="InternalError")
        if fault.name == "unavailable":
            return ApiError(503, "Service unavailable. Please try again.", code="ServiceUnavailable")
        return ApiError(403, "Access denied.", code="AccessDenied")

    # -- gRPC answers ---------------------------------------------------------------------------------------------

    def authenticate_rpc(self, metadata: Mapping[str, str]) -> None:
        scheme, _, key = metadata.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise RpcError(grpc.StatusCode.UNAUTHENTICATED, _NO_KEY)
        expected = self.context.settings.api_key
        if expected is not None and key.strip() != expected:
            raise RpcError(grpc.StatusCode.UNAUTHENTICATED, _BAD_KEY)

    def rpc_fault_error(self, fault: Fault, method: RpcMethod) -> RpcError:
        if fault.name == "rate_limit":
            # xai-sdk reads nothing from a RESOURCE_EXHAUSTED answer, and xAI does not document a retry hint, so the
            # delay goes where gRPC's richer error model puts it: a google.rpc.RetryInfo in the google.rpc.Status of
            # the `grpc-status-details-bin` trailer (as grpcio-status's rpc_status.to_status writes it).
            seconds = fault.number("retry_after", 1)
            message = f"Too many requests: your team has exceeded its rate limit. Please retry in {seconds:g} s."
            delay = duration_pb2.Duration()
            delay.FromNanoseconds(round(seconds * 1e9))
            detail = any_pb2.Any()
            detail.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
            status = status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=message, details=[detail])
            trailer = (("grpc-status-details-bin", status.SerializeToString()),)
            return RpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, message, trailing=trailer)
        if fault.name == "quota_exceeded":
            # xAI documents no gRPC form for spent credits; this follows its REST answer's words, as the status a
            # spent budget takes in gRPC (RESOURCE_EXHAUSTED), with no retry hint: waiting does not help.
            return RpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, _CREDITS_SPENT)
        if fault.name == "server_error":
            return RpcError(grpc.StatusCode.INTERNAL, "An internal error occurred. Please retry your request.")
        if fault.name == "unavailable":
            return RpcError(grpc.StatusCode.UNAVAILABLE, "The service is temporarily unavailable. Please retry.")
        raise ValueError(f"fault {fault.name} is not answered with a status")

    def rpc_retired(self, method: RpcMethod) -> RpcError:
        return RpcError(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")  # grpc's answer for a method it lacks

    def rpc_malformed(self, method: RpcMethod) -> bytes:
        return _MALFORMED

    # -- shared by the services -----------------------------------------------------------------------------------

    def check_model(self, model: str, served: tuple[str, ...], kind: str) -> str:
        """The model, if this service serves it: an empty name is INVALID_ARGUMENT, a model of the other service too,
        an unknown one NOT_FOUND (in the REST API's words for a model that does not exist)."""
        if not model:
            raise invalid("model", f"is required; {kind} model is one of {', '.join(served)}")
        if model in served:
            return model
        from mediagen.sandbox.xai import catalog

        if model in (*catalog.IMAGE_MODELS, *catalog.VIDEO_MODELS):
            raise invalid("model", f"{model} cannot make {kind}; use one of {', '.join(served)}")
        raise RpcError(
            grpc.StatusCode.NOT_FOUND,
            f"The model {model} does not exist or your team does not have access to it.",
        )

    async def input_image(self, content: image_pb2.ImageUrlContent, field: str) -> bytes:
        """The bytes of an input image: a data URI, a URL this fake handed out, or any other http(s) URL (fetched)."""
        source = content.WhichOneof("source")
        if source is None:
            raise invalid(field, "set image_url (a data URI or an http(s) URL) or file_id")
        if source == "file_id":
            raise RpcError(grpc.StatusCode.NOT_FOUND, f"{field}.file_id: file {content.file_id!r} was not found")
        where = f"{field}.image_url"
        url = content.image_url
        if is_http_url(url):
            data = self._own_image(url, where)
            if data is None:
                data = await fetch(url, where)
        else:
            data = decode_data_uri(url, where)
        await check_image(data, where)
        return data

    def _own_image(self, url: str, field: str) -> bytes | None:
        """An image URL this fake (or one sharing its state_dir) handed out: its bytes, read without a request."""
        if not self._ours(url):
            return None
        stored = self.images.stored(urlsplit(url).path)
        if stored is None:
            return None
        if time.time() > stored.expires_at:
            raise invalid(field, f"fetching {url} failed with HTTP 403 (the URL expired)")
        return stored.data

    def _ours(self, url: str) -> bool:
        """Whether a URL points at this fake's HTTP server or any loopback one (a sandbox sharing the state_dir)."""
        parts = urlsplit(url)
        if self.origin and parts.netloc == urlsplit(self.origin).netloc:
            return True
        host = parts.hostname or ""
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    async def input_video(self, content: video_pb2.VideoUrlContent, field: str) -> VideoJob | None:
        """The job behind an input video URL this fake handed out; another http(s) URL is fetched and must be an MP4
        (None: the fake knows nothing more of it)."""
        source = content.WhichOneof("source")
        if source is None:
            raise invalid(field, "set url or file_id")
        if source == "file_id":
            raise RpcError(grpc.StatusCode.NOT_FOUND, f"{field}.file_id: file {content.file_id!r} was not found")
        url = content.url
        if not is_http_url(url):
            raise invalid(f"{field}.url", "expected an http(s) URL of an MP4 video")
        if self._ours(url):
            job = self.videos.job_of(urlsplit(url).path)
            if job is not None:
                if not self.videos.playable(job):
                    raise invalid(f"{field}.url", f"fetching {url} failed: the video is not available (expired?)")
                return job
        data = await fetch(url, f"{field}.url")
        if data[4:8] != b"ftyp":
            raise invalid(f"{field}.url", "the URL does not hold an MP4 video")
        return None
