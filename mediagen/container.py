"""The composition root: wires settings, credentials, store, sink, backends, selector and service."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from dependency_injector import containers, providers

from mediagen.adapters.credentials.env import EnvCredentialSource
from mediagen.adapters.plugins import discover_plugins
from mediagen.adapters.sinks.filesystem import FilesystemSink
from mediagen.adapters.stores.memory import MemoryStore
from mediagen.adapters.stores.redis import RedisStore
from mediagen.adapters.stores.sqlite import SqliteStore, default_sqlite_path
from mediagen.application.codec import request_converter
from mediagen.application.registry import BackendRegistry
from mediagen.application.selector import BackendSelector
from mediagen.application.service import MediaService
from mediagen.application.settings import Settings, load_settings
from mediagen.domain.request import MediaRequest
from mediagen.ports.credentials import CredentialSource
from mediagen.ports.generator import BackendOptions, BackendPlugin


def backend_options(
    settings: Settings, plugins: list[BackendPlugin], environ: Mapping[str, str] | None = None
) -> dict[str, BackendOptions]:
    """Per-backend endpoint and extras: the settings' base_url wins, then the spec's base-URL env vars."""
    env = os.environ if environ is None else environ
    options = {}
    for plugin in plugins:
        configured = settings.backend(plugin.spec.name).options()
        from_env = next((env[v].strip() for v in plugin.spec.base_url_env_vars if env.get(v, "").strip()), None)
        options[plugin.spec.name] = attrs.evolve(configured, base_url=configured.base_url or from_env)
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


def build_sink(settings: Settings) -> FilesystemSink:
    cwd = Path.cwd()
    output_dir = settings.output_dir or cwd
    roots = (cwd, output_dir, *settings.allowed_roots)
    return FilesystemSink(allowed_roots=roots, default_dir=output_dir, max_bytes=settings.max_artifact_bytes)


def build_service(
    registry: BackendRegistry,
    selector: BackendSelector,
    store: Any,
    sink: Any,
    settings: Settings,
) -> MediaService:
    converter = request_converter()

    def encode(request: MediaRequest) -> dict[str, Any]:
        return converter.unstructure(request)  # type: ignore[no-any-return]

    def decode(data: dict[str, Any]) -> MediaRequest:
        return converter.structure(data, MediaRequest)

    return MediaService(
        registry=registry,
        selector=selector,
        store=store,
        sink=sink,
        settings=settings,
        encode_request=encode,
        decode_request=decode,
    )


def _store_kind(settings: Settings) -> str:
    return settings.store.kind


class Container(containers.DeclarativeContainer):
    """Build it, override what you need (`container.store.override(...)`), then `container.service()`."""

    settings = providers.Singleton(load_settings)
    credentials = providers.Singleton(EnvCredentialSource)
    plugins = providers.Singleton(discover_plugins)
    options = providers.Singleton(backend_options, settings, plugins)
    registry = providers.Singleton(BackendRegistry, plugins, options)
    store = providers.Selector(
        providers.Callable(_store_kind, settings),
        sqlite=providers.Singleton(
            SqliteStore,
            path=providers.Callable(lambda s: s.store.path or default_sqlite_path(), settings),
            ttl_seconds=settings.provided.store.ttl_seconds,
        ),
        memory=providers.Singleton(
            MemoryStore,
            max_items=settings.provided.store.max_items,
            ttl_seconds=settings.provided.store.ttl_seconds,
        ),
        redis=providers.Singleton(
            RedisStore, settings.provided.store.url, ttl_seconds=settings.provided.store.ttl_seconds
        ),
    )
    sink = providers.Singleton(build_sink, settings)
    selector = providers.Singleton(build_selector, settings, registry, credentials)
    service = providers.Singleton(build_service, registry, selector, store, sink, settings)
