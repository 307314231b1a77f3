"""The module-level API: mediagen.generate / generate_sync, and an `import mediagen` that stays light."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from dependency_injector import providers

import mediagen
from mediagen import Container, MediaRequest, MediaType, NoBackendAvailable
from mediagen.application.settings import Settings, StoreSettings
from mediagen.ports.progress import Selected, Written
from mediagen.testing import FakeGenerator, RecordingListener, StaticCredentials, fake_plugin, fake_spec

SPEC = fake_spec("fake")
#: Modules `import mediagen` must not load: vendor SDKs, transports, infrastructure and the CLI stack.
HEAVY = (
    "openai", "google.genai", "xai_sdk", "elevenlabs", "grpc", "aiohttp", "httpx", "dependency_injector",
    "aiosqlite", "aiofiles", "redis", "PIL", "typer", "rich", "mediagen.container", "mediagen.adapters",
    "mediagen.sandbox",
)  # fmt: skip


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("MEDIAGEN_") or name.endswith(("_API_KEY", "_BASE_URL")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


@pytest.fixture
def faked(clean: Path) -> Iterator[tuple[Container, FakeGenerator]]:
    generator = FakeGenerator(SPEC)
    container = Container(settings=providers.Object(Settings(store=StoreSettings(kind="memory"))))
    container.plugins.override(providers.Object([fake_plugin(SPEC, generator)]))
    container.credentials.override(providers.Object(StaticCredentials({"fake": "k"})))
    yield container, generator
    container.shutdown_resources()


def fox() -> MediaRequest:
    return MediaRequest(media_type=MediaType.IMAGE, prompt="a red fox")


async def test_generate_with_a_given_container_uses_it_and_leaves_it_open(
    faked: tuple[Container, FakeGenerator], clean: Path
) -> None:
    container, generator = faked
    listener = RecordingListener()
    result = await mediagen.generate(fox(), progress=listener, container=container)
    assert result.backend == "fake" and result.path.parent == clean and result.path.is_file()
    assert listener.of_type(Selected)[0].backend == "fake" and listener.of_type(Written)[0].path == result.path
    assert not generator.closed  # the caller's container: the caller closes it
    again = await mediagen.generate(fox(), container=container)
    assert again.path != result.path and len(generator.calls) == 2
    await container.service().aclose()


def test_generate_sync_runs_the_generation_for_synchronous_code(faked: tuple[Container, FakeGenerator]) -> None:
    container, generator = faked
    result = mediagen.generate_sync(fox(), container=container)
    assert result.backend == "fake" and result.path.read_bytes()[:4] == b"\x89PNG"
    assert len(generator.calls) == 1


async def test_generate_sync_inside_a_running_loop_says_to_await_generate_instead(
    faked: tuple[Container, FakeGenerator],
) -> None:
    container, generator = faked
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine was never awaited" left behind either
        with pytest.raises(RuntimeError, match=r"running event loop; use `await mediagen.generate\(...\)`"):
            mediagen.generate_sync(fox(), container=container)
    assert generator.calls == []
    assert asyncio.get_running_loop().is_running()


def test_without_a_container_generate_sync_builds_and_closes_its_own(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MEDIAGEN_SANDBOX=1: the fresh container serves the fakes, and shuts its sandbox down when done."""
    import threading

    monkeypatch.setenv("MEDIAGEN_SANDBOX", "1")
    monkeypatch.setenv("MEDIAGEN_SANDBOX_OPTIONS__JOB_POLLS", "1")
    result = mediagen.generate_sync(MediaRequest(media_type=MediaType.IMAGE, prompt="a red fox", backend="openai"))
    assert result.backend == "openai" and result.path.is_file() and result.path.parent == clean
    assert not [t for t in threading.enumerate() if t.name == "mediagen-sandbox"], "the sandbox thread still runs"


def test_without_keys_the_error_names_the_env_vars_that_would_help(clean: Path) -> None:
    with pytest.raises(NoBackendAvailable) as caught:
        mediagen.generate_sync(fox())
    assert "OPENAI_API_KEY" in caught.value.message and "GOOGLE_API_KEY" in caught.value.message
    assert "OPENAI_API_KEY" in caught.value.enabling_env_vars.get("openai", [])


# -- importing ----------------------------------------------------------------------------------------------------


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_mediagen_loads_no_vendor_sdk_transport_or_container() -> None:
    code = (
        "import sys, json\n"
        "import mediagen\n"
        "from mediagen import MediaRequest, MediaType, AudioKind, Capability, GenerationResult, BatchResult\n"
        "from mediagen import InvalidRequest, NoBackendAvailable, MissingCredentials, InternalError\n"
        f"heavy = {HEAVY!r}\n"
        "loaded = [m for m in sys.modules if m in heavy or m.startswith(tuple(h + '.' for h in heavy))]\n"
        "print(json.dumps(sorted(loaded)))\n"
    )
    assert json.loads(run_python(code)) == []


def test_the_lazy_names_load_on_first_use_and_every_public_name_resolves() -> None:
    code = (
        "import sys, json\n"
        "import mediagen\n"
        "names = [n for n in mediagen.__all__ if getattr(mediagen, n) is None]\n"
        "print(json.dumps([names, 'dependency_injector' in sys.modules, 'openai' in sys.modules]))\n"
    )
    missing, container_loaded, openai_loaded = json.loads(run_python(code))
    assert missing == []
    assert container_loaded, "mediagen.Container should load the container on first use"
    assert not openai_loaded, "even the container loads no vendor SDK until a backend is used"


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        mediagen.no_such_name  # noqa: B018


def test_open_service_without_a_container_does_not_load_dependency_injector(clean: Path) -> None:
    """dependency_injector's import also loads the optional integrations it finds (pydantic-settings, PyYAML,
    starlette, werkzeug): the service a fresh process opens is wired without it."""
    code = (
        "import asyncio, json, sys\n"
        "from mediagen import open_service\n"
        "async def main():\n"
        "    async with open_service(settings=None) as service:\n"
        "        return [type(service).__name__, len(service.selector.specs)]\n"
        "made = asyncio.run(main())\n"
        "print(json.dumps([made, 'dependency_injector' in sys.modules, 'mediagen.container' in sys.modules]))\n"
    )
    made, injector_loaded, container_loaded = json.loads(run_python(code))
    assert made[0] == "MediaService" and made[1] > 0
    assert not injector_loaded and not container_loaded


#: What a fresh service (no list or priorities among its settings, no third-party backend) does not load before
#: it is needed: aiosqlite serves only the store's async methods (a load, a listing), which a generation keeping
#: its continuation in its file's job never calls.
LOADED_ON_FIRST_USE = ("cattrs", "importlib.metadata", "email", "zipfile", "aiosqlite")


@pytest.mark.parametrize(
    "variables",
    [
        {},
        {
            "MEDIAGEN_OUTPUT_DIR": "renders",
            "MEDIAGEN_BACKENDS__XAI__BASE_URL": "127.0.0.1:50051",
            "MEDIAGEN_BACKENDS__XAI__EXTRA__POLL_INTERVAL": "0.1",
            "MEDIAGEN_RETRY__ATTEMPTS": "5",
        },
    ],
    ids=["defaults", "usual-variables"],
)
def test_a_fresh_service_loads_no_converter_distribution_metadata_or_async_sqlite_until_it_needs_them(
    clean: Path, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]
) -> None:
    """cattrs structures lists and the priorities, and words a bad setting; importlib.metadata reads third-party
    backends' entry points when an installed distribution declares some; aiosqlite's connection (and its thread)
    serves the store's async methods, which a generation keeping its continuation in the file's job does not use."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    code = (
        "import asyncio, json, sys\n"
        "from mediagen import open_service\n"
        "from mediagen.ports.continuation import ContinuationState\n"
        "async def main():\n"
        "    async with open_service() as service:\n"
        "        await service._reach_store()\n"
        "        store = service._store\n"
        "        kept = await asyncio.to_thread(store.save_blocking, 'xai', ContinuationState(kind='k', data={}))\n"
        "        early = sorted(m for m in sys.modules if m.split('.')[0] in names or m in names)\n"
        "        unopened = store._connection is None\n"
        "        found = await store.load(kept)\n"
        "        opened = store._connection is not None\n"
        "        return [len(service.selector.specs), early, unopened, found is not None, opened]\n"
        f"names = {LOADED_ON_FIRST_USE!r}\n"
        "print(json.dumps(asyncio.run(main())))\n"
    )
    specs, loaded, unopened, found, opened = json.loads(run_python(code))
    assert specs == 5 and loaded == []
    assert unopened and found and opened  # the async connection opens on its first use


async def test_open_service_with_settings_uses_them_and_stops_its_sandbox(clean: Path) -> None:
    import threading

    settings = Settings(store=StoreSettings(kind="memory"), sandbox=True, output_dir=clean / "out")
    async with mediagen.open_service(settings=settings) as service:
        assert service.settings is settings
        result = await service.generate(MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", backend="openai"))
        assert result.path.parent == clean / "out"
    assert not [t for t in threading.enumerate() if t.name == "mediagen-sandbox"], "the sandbox thread still runs"


async def test_open_service_takes_a_container_or_settings_not_both(faked: tuple[Container, FakeGenerator]) -> None:
    container, _ = faked
    with pytest.raises(TypeError, match="a container or settings, not both"):
        async with mediagen.open_service(container, settings=Settings()):
            pass
