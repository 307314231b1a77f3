"""gRPC beside a fake's HTTP app: a `grpc.aio` server on the sandbox's host whose methods get what the HTTP routes
get from the framework (latency, the stop signal, the fault scripts, the call log), so a gRPC vendor's fake only writes
its methods, its auth rule and its answers to faults.

Faults reach a method as they reach a route: from the `x-mediagen-fault` metadata key (that call only) or from the
queue, matched against `POST /<package.Service>/<Method>` (the HTTP/2 request gRPC makes), e.g.
`route="/xai_api.Video/GenerateVideo"`. Imported only by gRPC fakes, so `import mediagen.sandbox` needs no grpc.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import attrs
import grpc
from google.protobuf.message import Message

from mediagen.sandbox.faults import FAULT_HEADER, Fault, FaultScope
from mediagen.sandbox.vendor import Call, FakeContext

log = logging.getLogger("mediagen.sandbox")

#: What gRPC clients send at most by default in the SDKs the fakes serve (xai-sdk: 20 MiB); grpc's own default is 4 MiB.
MAX_MESSAGE_BYTES = 20 * 1024 * 1024
Metadata = Sequence[tuple[str, str | bytes]]


class RpcError(Exception):
    """A gRPC error answer: a status code, its details text and any trailing metadata."""

    def __init__(self, code: grpc.StatusCode, message: str, *, trailing: Metadata = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.trailing = tuple(trailing)


@attrs.define
class _Attempt:
    fault: Fault | None = None


@attrs.frozen
class RpcCall:
    """What a method gets besides its request: the call's metadata and the fault it carries that the method answers
    itself (a JOB fault, content_policy), if any."""

    metadata: Mapping[str, str]
    fault: Fault | None


Handler = Callable[[Any, RpcCall], Awaitable[Message | bytes]]


@attrs.frozen
class RpcMethod:
    """One unary method: `/<service>/<name>`, the request message type, the handler, and which fault scopes besides
    REQUEST it takes (JOB for a method that starts a job)."""

    service: str
    name: str
    request: type[Message]
    handler: Handler
    scopes: frozenset[FaultScope] = frozenset()

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.name}"


class RpcFake(Protocol):
    """What a gRPC fake provides the server: its context, auth rule and the answers to faults."""

    @property
    def name(self) -> str: ...

    @property
    def context(self) -> FakeContext: ...

    def authenticate_rpc(self, metadata: Mapping[str, str]) -> None:
        """Raise RpcError (the vendor's UNAUTHENTICATED) when the call lacks acceptable credentials."""

    def rpc_fault_error(self, fault: Fault, method: RpcMethod) -> RpcError:
        """The vendor's answer to rate_limit, server_error, unavailable or content_policy."""

    def rpc_retired(self, method: RpcMethod) -> RpcError:
        """The vendor's answer for a method it no longer serves (the `retired` fault)."""

    def rpc_malformed(self, method: RpcMethod) -> bytes:
        """A response body the client cannot parse as the method's answer (the `malformed` fault)."""


def status_number(code: grpc.StatusCode) -> int:
    """The numeric gRPC status (0 OK, 3 INVALID_ARGUMENT, ...), as the call log records it."""
    number: int = code.value[0]
    return number


def _serialize(message: Message | bytes) -> bytes:
    return message if isinstance(message, bytes) else message.SerializeToString()


class RpcServer:
    """A grpc.aio server for one fake's methods on `host` and `port` (0: any free one); `start()` returns
    `host:port`."""

    def __init__(self, fake: RpcFake, methods: Iterable[RpcMethod]) -> None:
        self.fake = fake
        self.methods = tuple(methods)
        self._server: grpc.aio.Server | None = None

    async def start(self, host: str, port: int = 0) -> str:
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ]
        )
        services: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
        for method in self.methods:
            services.setdefault(method.service, {})[method.name] = grpc.unary_unary_rpc_method_handler(
                self._wrap(method),
                request_deserializer=method.request.FromString,
                response_serializer=_serialize,
            )
        for service, handlers in services.items():
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
        bound = f"[{host}]" if ":" in host else host
        try:
            bound_port = server.add_insecure_port(f"{bound}:{port}")
        except RuntimeError as exc:  # grpc raises it when the address is taken
            raise OSError(f"the {self.fake.name} fake could not bind a gRPC server on {bound}:{port}: {exc}") from None
        if bound_port == 0:
            raise OSError(f"the {self.fake.name} fake could not bind a gRPC server on {bound}:{port}")
        await server.start()
        self._server = server
        return f"{bound}:{bound_port}"

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.stop(grace=1.0)

    def _wrap(self, method: RpcMethod) -> Callable[[Message, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]:
        async def handle(request: Message, context: grpc.aio.ServicerContext[Any, Any]) -> Message | bytes:
            attempt = _Attempt()
            try:
                answer = await self._answer(method, request, context, attempt)
            except RpcError as error:
                self._log(method, error.code, attempt.fault)
                await context.abort(error.code, error.message, trailing_metadata=error.trailing)
                raise AssertionError("unreachable: abort raises") from None
            except asyncio.CancelledError:  # the client gave up (its deadline passed) or the server is stopping
                self._log(method, grpc.StatusCode.CANCELLED, attempt.fault)
                raise
            except Exception:
                log.exception("sandbox %s: %s failed", self.fake.name, method.path)
                self._log(method, grpc.StatusCode.INTERNAL, attempt.fault)
                await context.abort(grpc.StatusCode.INTERNAL, "The sandbox failed to handle this call; see its log.")
                raise AssertionError("unreachable: abort raises") from None
            self._log(method, grpc.StatusCode.OK, attempt.fault)
            return answer

        return handle

    async def _answer(
        self, method: RpcMethod, request: Message, context: grpc.aio.ServicerContext[Any, Any], attempt: _Attempt
    ) -> Message | bytes:
        fake_context = self.fake.context
        if await fake_context.pause(fake_context.settings.latency):
            raise RpcError(grpc.StatusCode.UNAVAILABLE, "The sandbox is shutting down.")
        metadata = {key: value for key, value in context.invocation_metadata() or () if isinstance(value, str)}
        self.fake.authenticate_rpc(metadata)
        fault = attempt.fault = self._select_fault(method, metadata)
        if fault is not None and fault.scope is FaultScope.REQUEST:
            if fault.name == "hang":
                settings = fake_context.settings
                if await fake_context.pause(min(fault.number("seconds", settings.hang_seconds), settings.hang_seconds)):
                    raise RpcError(grpc.StatusCode.UNAVAILABLE, "The sandbox is shutting down.")
            elif fault.name == "malformed":
                return self.fake.rpc_malformed(method)
            elif fault.name == "retired":
                raise self.fake.rpc_retired(method)
            elif fault.name != "content_policy":  # a moderation answer is the method's own: it gets the fault
                raise self.fake.rpc_fault_error(fault, method)
        return await method.handler(request, RpcCall(metadata, fault))

    def _select_fault(self, method: RpcMethod, metadata: Mapping[str, str]) -> Fault | None:
        """The call's fault: its metadata key if it has one (ignored where it cannot apply), else the queue's."""
        scopes = method.scopes | {FaultScope.REQUEST}
        faults = self.fake.context.faults
        header = metadata.get(FAULT_HEADER)
        if header:
            try:
                fault = Fault.parse(header)
            except ValueError as exc:
                raise RpcError(grpc.StatusCode.INVALID_ARGUMENT, f"{FAULT_HEADER}: {exc}") from None
            if fault.scope not in scopes:
                return None
            faults.record(self.fake.name, "POST", method.path, fault)
            return fault
        return faults.take(self.fake.name, "POST", method.path, scopes)

    def _log(self, method: RpcMethod, code: grpc.StatusCode, fault: Fault | None) -> None:
        self.fake.context.calls.append(
            Call("POST", method.path, status_number(code), str(fault) if fault is not None else None)
        )
