"""The fake vendors the sandbox knows, loaded lazily so a missing optional library only hides its fake."""

from __future__ import annotations

import importlib
from typing import Final

from mediagen.sandbox.vendor import VendorFake

#: vendor name -> "module:class". Adding a vendor is one module and one line here.
VENDORS: Final[dict[str, str]] = {
    "openai": "mediagen.sandbox.openai:OpenAIFake",
    "google": "mediagen.sandbox.google:GoogleFake",
    "xai": "mediagen.sandbox.xai:XaiFake",
    "openrouter": "mediagen.sandbox.openrouter:OpenRouterFake",
    "elevenlabs": "mediagen.sandbox.elevenlabs:ElevenLabsFake",
}


def vendor_class(name: str) -> type[VendorFake]:
    """The fake for `name`; an unknown name is a ValueError listing the known ones."""
    try:
        target = VENDORS[name]
    except KeyError:
        raise ValueError(f"no sandbox fake for {name!r}; known vendors: {', '.join(VENDORS)}") from None
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, VendorFake)):
        raise TypeError(f"{target} is not a VendorFake")
    return cls


def available_vendors() -> tuple[str, ...]:
    """Every registered vendor whose fake imports here (e.g. the xAI fake needs grpcio)."""
    names = []
    for name in VENDORS:
        try:
            vendor_class(name)
        except ImportError:
            continue
        names.append(name)
    return tuple(names)
