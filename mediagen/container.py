"""The composition root: wires settings, credentials, store, sink, backends, selector and service.

Each provider calls a function of `mediagen.composition`, where `Assembly` calls the same ones for the callers that
override nothing; a host overrides any provider here (`container.store.override(...)`) before `container.service()`.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from mediagen.adapters.plugins import discover_plugins
from mediagen.application.registry import BackendRegistry
from mediagen.application.settings import load_settings
from mediagen.composition import (
    SANDBOX_KEY,
    SANDBOX_POLL_INTERVAL,
    backend_options,
    build_limits,
    build_selector,
    build_service,
    build_sink,
    build_store,
    credential_source,
    inspect_inputs,
    run_sandbox,
    sandbox_state_dir,
)

__all__ = [
    "SANDBOX_KEY",
    "SANDBOX_POLL_INTERVAL",
    "Container",
    "backend_options",
    "inspect_inputs",
    "sandbox_state_dir",
]


class Container(containers.DeclarativeContainer):
    """Build it, override what you need (`container.store.override(...)`), then `container.service()`."""

    settings = providers.Singleton(load_settings)
    sandbox = providers.Resource(run_sandbox, settings)
    credentials = providers.Singleton(credential_source, sandbox)
    plugins = providers.Singleton(discover_plugins)
    options = providers.Singleton(backend_options, settings, plugins, sandbox)
    registry = providers.Singleton(BackendRegistry, plugins, options)
    store = providers.Singleton(build_store, settings)
    sink = providers.Singleton(build_sink, settings)
    selector = providers.Singleton(build_selector, settings, registry, credentials)
    limits = providers.Singleton(build_limits, settings)
    service = providers.Singleton(build_service, registry, selector, store, sink, settings, limits)
