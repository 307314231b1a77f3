"""The first generation on each backend never holds the event loop: a fresh interpreter per backend (so its SDK is
not loaded yet) runs its first calls with asyncio debug on and fails on any callback longer than 50 ms.

The backends come from the registry (built-ins and `mediagen.backends` entry points), so a new backend is covered
the day it lands; it needs a sandbox fake, as every built-in has. The figure of record (the longest stall, which
should stay under 20 ms) is measured by benchmarks/first_call.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import mediagen
from mediagen.adapters.plugins import discover_plugins
from mediagen.domain.backend import BackendSpec
from mediagen.sandbox import SandboxSettings, SandboxThread, available_vendors

CHILD = Path(__file__).with_name("first_call_child.py")
BACKENDS = {plugin.spec.name: plugin.spec for plugin in discover_plugins()}
#: Seconds a child may take: a fresh interpreter loading an SDK, then one generation per media type.
CHILD_TIMEOUT = 180.0

pytestmark = pytest.mark.slow


def _clean_environ(home: Path) -> dict[str, str]:
    """The test's environment without keys, vendor URLs or mediagen settings, and a private home for state."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_API_KEY", "_BASE_URL"))
        and not key.startswith(("MEDIAGEN_", "GOOGLE_", "GEMINI_", "OPENAI_", "XDG_", "PYTHONASYNCIODEBUG"))
    }
    return {**kept, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "MEDIAGEN_OUTPUT_DIR": str(home / "out")}


def _first_calls(
    spec: BackendSpec, env: Mapping[str, str], media: list[str], *, warm_up: bool = False
) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(CHILD), *(["--warm-up"] if warm_up else []), spec.name, *media],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    assert done.returncode == 0, f"the first calls on {spec.name} failed:\n{done.stdout}\n{done.stderr}"
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(report["made"]) == len(media), report
    return report


#: Fresh runs before a slow callback counts: each one logging one fails the test.
ATTEMPTS = 3


def _no_slow_callbacks(spec: BackendSpec, env: Mapping[str, str], media: list[str]) -> None:
    """Fails when every one of ATTEMPTS fresh runs logs a slow callback. A real stall (an SDK imported or a client
    built on the loop: 100-600 ms) shows in every run; one that comes and goes is the machine's other processes
    holding its cores (or a worker thread's C call holding the GIL) while a short callback runs."""
    seen: list[str] = []
    for attempt in range(1, ATTEMPTS + 1):
        slow = _first_calls(spec, env, media)["slow_callbacks"]
        if not slow:
            return
        seen += [f"run {attempt}:", *slow]
    raise AssertionError("\n".join(seen))


def _needs_fake(name: str) -> BackendSpec:
    if name not in available_vendors():
        pytest.skip(f"the sandbox has no fake for {name!r}, so its first call cannot run offline")
    return BACKENDS[name]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxThread]:
    """The fakes served from this process, so the child's loop shares its GIL with nothing but its own threads."""
    with SandboxThread(settings=SandboxSettings(job_polls=1)) as running:
        yield running


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_the_first_call_of_each_media_type_never_holds_the_loop(
    name: str, sandbox: SandboxThread, tmp_path: Path
) -> None:
    spec = _needs_fake(name)
    env = {**_clean_environ(tmp_path), **sandbox.env(name)}
    # What sandbox mode gives every backend: job polls at the fakes' pace, not a vendor's.
    env[f"MEDIAGEN_BACKENDS__{name.upper()}__EXTRA__POLL_INTERVAL"] = "0.1"
    _no_slow_callbacks(spec, env, [media_type.value for media_type in spec.default_models])


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_a_request_without_images_does_not_make_mediagen_load_pillow(
    name: str, sandbox: SandboxThread, tmp_path: Path
) -> None:
    """Pillow (10-15 ms to import) is loaded by mediagen only for a request with an input image or a mask (an SDK
    may load it itself: google-genai does)."""
    spec = _needs_fake(name)
    env = {**_clean_environ(tmp_path), **sandbox.env(name)}
    report = _first_calls(spec, env, [next(iter(spec.default_models)).value])
    package = str(Path(mediagen.__file__).parent)
    assert [path for path in report["pillow_imported_by"] if path.startswith(package)] == []


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_in_sandbox_mode_the_service_and_the_fakes_start_off_the_loop(name: str, tmp_path: Path) -> None:
    """MEDIAGEN_SANDBOX=1: settings, the in-process fakes, the store and the backend are all built off the loop."""
    spec = _needs_fake(name)
    env = {**_clean_environ(tmp_path), "MEDIAGEN_SANDBOX": "1"}
    _no_slow_callbacks(spec, env, [next(iter(spec.default_models)).value])


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_after_warm_up_the_first_call_of_each_media_type_loads_no_module(
    name: str, sandbox: SandboxThread, tmp_path: Path
) -> None:
    """`open_service(warm_up=[name])` (as `mediagen batch` and the MCP server do) pays every first-use load ahead:
    the SDK and its transport, the API modules the adapter calls, what the sink needs for the media type. A module
    a first call still loads shows as a slower first wave in a cold batch (benchmarks/first_call.py)."""
    spec = _needs_fake(name)
    env = {**_clean_environ(tmp_path), **sandbox.env(name)}
    env[f"MEDIAGEN_BACKENDS__{name.upper()}__EXTRA__POLL_INTERVAL"] = "0.1"
    report = _first_calls(spec, env, [media_type.value for media_type in spec.default_models], warm_up=True)
    assert report["loaded"] == [], report["loaded"]
