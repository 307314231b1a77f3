"""The composition root's parts: each piece the service needs, built from the settings by a plain function.

`mediagen.container.Container` declares these functions as providers (so a host can override any of them);
`Assembly` calls them in the same order without dependency_injector, for the callers that override nothing
(`open_service()` without a container, the CLI): dependency_injector's import also loads the optional
integrations it finds installed (pydantic-settings, PyYAML, starlette, werkzeug), which a first call should not pay.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from mediagen.adapters.credentials.env import EnvCredentialSource, StaticCredentialSource
from mediagen.adapters.plugins import discover_plugins
from mediagen.adapters.sinks.filesystem import FilesystemSink
from mediagen.adapters.sinks.places import PlaceSink
from mediagen.adapters.sinks.s3 import S3Sink, object_place
from mediagen.application.registry import BackendRegistry
from mediagen.application.selector import BackendSelector
from mediagen.application.service import MediaService
from mediagen.application.settings import Settings, load_settings
from mediagen.domain.errors import ConfigurationError
from mediagen.domain.request import MediaRequest
from mediagen.ports.continuation import ContinuationStore
from mediagen.ports.credentials import CredentialSource
from mediagen.ports.generator import BackendOptions, BackendPlugin
from mediagen.ports.limits import CallLimits

if TYPE_CHECKING:
    from mediagen.sandbox import SandboxThread

#: The dummy key every backend gets in sandbox mode; the fakes accept any non-empty key.
SANDBOX_KEY = "sandbox-key"
#: Seconds between job polls in sandbox mode, first and longest: the built-in adapters take `poll_interval` and
#: `poll_max_interval` in their extras (backoff from 0.1 s up to a vendor's 30 s made a 25-poll fake job last minutes).
SANDBOX_POLL_INTERVAL = 0.1


def run_sandbox(settings: Settings) -> Iterator[SandboxThread | None]:
    """In sandbox mode, the fake vendors served from a background thread for the container's lifetime."""
    if not settings.sandbox:
        yield None
        return
    from mediagen.sandbox import SandboxSettings, SandboxThread

    texts = {"state_dir": str(sandbox_state_dir(settings))}
    for key, value in settings.sandbox_options.items():
        texts[key] = ",".join(value) if isinstance(value, (list, tuple)) else str(value)
    try:
        sandbox_settings = SandboxSettings.from_strings(texts, source="sandbox_options")
    except ValueError as error:
        raise ConfigurationError(str(error), key="sandbox_options") from None
    with SandboxThread(settings=sandbox_settings) as sandbox:
        yield sandbox


def sandbox_state_dir(settings: Settings) -> Path:
    """Where in-process sandboxes keep vendor-side state, so a continuation made in one run works in the next."""
    import platformdirs

    return platformdirs.user_data_path("mediagen") / "sandbox"


def credential_source(sandbox: SandboxThread | None) -> CredentialSource:
    """The environment's keys, or in sandbox mode a dummy key for each backend the sandbox fakes (never a real one)."""
    if sandbox is None:
        return EnvCredentialSource()
    return StaticCredentialSource({vendor: SANDBOX_KEY for vendor in sandbox.vendors})


def backend_options(
    settings: Settings,
    plugins: list[BackendPlugin],
    sandbox: SandboxThread | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, BackendOptions]:
    """Per-backend endpoint and extras: the settings' base_url wins, then the spec's base-URL env vars; an extra
    in the settings wins over the spec's env var for it.

    In sandbox mode every backend the sandbox fakes points at its fake, whatever the settings or environment say.
    """
    env = os.environ if environ is None else environ
    options = {}
    for plugin in plugins:
        configured = settings.backend(plugin.spec.name).options()
        if sandbox is not None:
            if plugin.spec.name not in sandbox.vendors:
                options[plugin.spec.name] = attrs.evolve(configured, base_url=None)
                continue
            # The fakes finish jobs within a few polls; polling them at a vendor's pace would only wait.
            extra = {
                "poll_interval": SANDBOX_POLL_INTERVAL,
                "poll_max_interval": SANDBOX_POLL_INTERVAL,
                **configured.extra,
            }
            base_url = sandbox.base_url(plugin.spec.name)
            options[plugin.spec.name] = attrs.evolve(configured, base_url=base_url, extra=extra)
            continue
        from_env = next((env[v].strip() for v in plugin.spec.base_url_env_vars if env.get(v, "").strip()), None)
        extra_from_env = {k: env[v].strip() for k, v in plugin.spec.extra_env_vars.items() if env.get(v, "").strip()}
        options[plugin.spec.name] = attrs.evolve(
            configured, base_url=configured.base_url or from_env, extra={**extra_from_env, **configured.extra}
        )
    return options


def build_selector(settings: Settings, registry: BackendRegistry, credentials: CredentialSource) -> BackendSelector:
    names = [spec.name for spec in registry.specs]
    return BackendSelector(
        registry.specs,
        credentials,
        priorities={mt: settings.priority(mt) for mt in settings.priorities},
        default_models={name: settings.backend(name).default_models for name in names},
        disabled=[name for name in names if not settings.backend(name).enabled],
        strict=settings.strict,
    )


def build_sink(settings: Settings) -> PlaceSink:
    """Files under the allowed roots, or objects when the output dir is an s3:// place (the `s3` extra)."""
    cwd = Path.cwd()
    place = settings.output_dir
    local = place if object_place(place) is None else None
    output_dir = local or cwd
    roots = (cwd, output_dir, *settings.allowed_roots)
    timeouts = settings.timeouts
    files = FilesystemSink(
        allowed_roots=roots,
        default_dir=output_dir,
        max_bytes=settings.max_artifact_bytes,
        # A temp file untouched for longer than the longest generation may take has no live writer.
        stale_after=max(timeouts.image, timeouts.video, timeouts.audio),
    )
    return PlaceSink(files, default_place=place, objects=lambda: S3Sink(max_bytes=settings.max_artifact_bytes))


def encode_request(request: MediaRequest) -> dict[str, Any]:
    """`codec.encode_request`, for the job records. The codec's module (its cattrs converter) loads on the first
    job recorded, not at start: a first image needs none (`MediaService.warm_up` loads it ahead)."""
    from mediagen.application import codec

    return codec.encode_request(request)


def decode_request(data: Mapping[str, Any]) -> MediaRequest:
    """`codec.decode_request`, for a recorded job's request (cancel, resume), loaded on its first use."""
    from mediagen.application import codec

    return codec.decode_request(data)


async def inspect_inputs(request: MediaRequest) -> None:
    """Decode the request's input pictures before any vendor call (Pillow, imported in a worker thread)."""
    if not request.input_images and request.mask is None:
        return
    import asyncio

    def check() -> None:
        from mediagen.adapters.pictures import check_request_pictures

        check_request_pictures(request)

    await asyncio.to_thread(check)


def build_service(
    registry: BackendRegistry,
    selector: BackendSelector,
    store: Any,
    sink: Any,
    settings: Settings,
    limits: Any = None,
) -> MediaService:
    return MediaService(
        registry=registry,
        selector=selector,
        store=store,
        sink=sink,
        settings=settings,
        encode_request=encode_request,
        decode_request=decode_request,
        inspect_inputs=inspect_inputs,
        limits=limits,
    )


def build_limits(settings: Settings) -> CallLimits:
    """Call limits held in the shared Redis when the store is Redis (every worker shares them), else per process."""
    if settings.store.kind == "redis":
        from mediagen.adapters.stores.redis_limits import RedisLimits

        return RedisLimits(settings.store.url)
    from mediagen.application.limits import LocalLimits

    return LocalLimits()


def build_store(settings: Settings) -> ContinuationStore:
    """The continuation store `store.kind` names: SQLite (default), memory or Redis (only that one's module loads)."""
    store = settings.store
    if store.kind == "memory":
        from mediagen.adapters.stores.memory import MemoryStore

        return MemoryStore(max_items=store.max_items, ttl_seconds=store.ttl_seconds)
    if store.kind == "redis":
        from mediagen.adapters.stores.redis import RedisStore

        return RedisStore(store.url, ttl_seconds=store.ttl_seconds)
    from mediagen.adapters.stores.sqlite import SqliteStore

    # A file set in the settings must be in an existing directory (a typo is an error, not a new tree).
    return SqliteStore(path=_sqlite_path(settings), ttl_seconds=store.ttl_seconds, create_parent=store.path is None)


def _sqlite_path(settings: Settings) -> Path:
    """The configured store file; by default sandbox runs keep their own, so fake ids never reach a real vendor."""
    if settings.store.path is not None:
        return settings.store.path
    if settings.sandbox:
        return sandbox_state_dir(settings) / "continuations.sqlite3"
    from mediagen.adapters.stores.sqlite import default_sqlite_path

    return default_sqlite_path()


class Assembly:
    """What `Container()` builds, one attribute per provider, made by calling the same functions in the same order;
    the sandbox it started (sandbox mode) is stopped by `shutdown_resources()`, as the container's is."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._resources = contextlib.ExitStack()
        try:
            self.settings = load_settings() if settings is None else settings
            self.sandbox = self._resources.enter_context(contextlib.contextmanager(run_sandbox)(self.settings))
            self.credentials = credential_source(self.sandbox)
            self.plugins = discover_plugins()
            self.options = backend_options(self.settings, self.plugins, self.sandbox)
            self.registry = BackendRegistry(self.plugins, self.options)
            self.store = build_store(self.settings)
            self.sink = build_sink(self.settings)
            self.selector = build_selector(self.settings, self.registry, self.credentials)
            self.limits = build_limits(self.settings)
            self.service = build_service(
                self.registry, self.selector, self.store, self.sink, self.settings, self.limits
            )
        except BaseException:
            self._resources.close()  # building failed (a bad store path, say): stop the sandbox it started
            raise

    def shutdown_resources(self) -> None:
        self._resources.close()
