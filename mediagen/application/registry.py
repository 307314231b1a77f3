"""BackendRegistry: the installed backends' specs, and their generators built once, on first use."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence

from mediagen.domain.backend import BackendSpec
from mediagen.domain.errors import InvalidRequest
from mediagen.ports.generator import BackendOptions, BackendPlugin, MediaGenerator


class BackendRegistry:
    """Holds plugins; builds each generator lazily (its SDK loads then) and reuses it for every call."""

    def __init__(
        self,
        plugins: Sequence[BackendPlugin],
        options: Callable[[str], BackendOptions] | Mapping[str, BackendOptions] | None = None,
    ) -> None:
        self._plugins: dict[str, BackendPlugin] = {}
        for plugin in plugins:
            if plugin.spec.name in self._plugins:
                raise ValueError(f"two backends are named {plugin.spec.name!r}; backend names must be unique")
            self._plugins[plugin.spec.name] = plugin
        if options is None:
            self._options: Callable[[str], BackendOptions] = lambda name: BackendOptions()
        elif isinstance(options, Mapping):
            mapping = dict(options)
            self._options = lambda name: mapping.get(name, BackendOptions())
        else:
            self._options = options
        self._generators: dict[str, MediaGenerator] = {}

    @property
    def specs(self) -> list[BackendSpec]:
        return [plugin.spec for plugin in self._plugins.values()]

    def spec(self, name: str) -> BackendSpec:
        return self._plugin(name).spec

    def options(self, name: str) -> BackendOptions:
        return self._options(name)

    def generator(self, name: str) -> MediaGenerator:
        generator = self._generators.get(name)
        if generator is None:
            generator = self._plugin(name).factory(self._options(name))
            self._generators[name] = generator
        return generator

    def _plugin(self, name: str) -> BackendPlugin:
        try:
            return self._plugins[name]
        except KeyError:
            known = ", ".join(sorted(self._plugins)) or "none installed"
            raise InvalidRequest(f"unknown backend {name!r}; known backends: {known}", field="backend") from None

    async def aclose(self) -> None:
        """Close every generator that was built (their HTTP/gRPC clients)."""
        generators, self._generators = list(self._generators.values()), {}
        await asyncio.gather(*(g.aclose() for g in generators), return_exceptions=True)
