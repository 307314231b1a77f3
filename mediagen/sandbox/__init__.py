"""Loopback fakes of the vendor APIs, speaking their real wire protocols, so the real SDKs talk to them.

    async with Sandbox(vendors=("openai",)) as sb:
        client = AsyncOpenAI(base_url=sb.base_url("openai"), api_key="k")
        sb.faults.push("openai", Fault("rate_limit", {"retry_after": 2}))

See docs/sandbox.md.
"""

from mediagen.sandbox.faults import FAULT_HEADER, FAULT_KINDS, Fault, FaultScope, FaultScript
from mediagen.sandbox.registry import VENDORS, available_vendors
from mediagen.sandbox.server import Sandbox, SandboxThread, describe, serve, serve_forever, start_in_thread
from mediagen.sandbox.settings import SandboxSettings
from mediagen.sandbox.vendor import ApiError, Call, VendorFake

__all__ = [
    "FAULT_HEADER",
    "FAULT_KINDS",
    "VENDORS",
    "ApiError",
    "Call",
    "Fault",
    "FaultScope",
    "FaultScript",
    "Sandbox",
    "SandboxSettings",
    "SandboxThread",
    "VendorFake",
    "available_vendors",
    "describe",
    "serve",
    "serve_forever",
    "start_in_thread",
]
