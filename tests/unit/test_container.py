"""The composition root: the store settings choose, overrides, backend options, and sandbox mode."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
import fakeredis
import pytest
from dependency_injector import providers

from mediagen.adapters.credentials.env import EnvCredentialSource
from mediagen.adapters.stores.memory import MemoryStore
from mediagen.adapters.stores.redis import RedisStore
from mediagen.adapters.stores.sqlite import SqliteStore
from mediagen.application.service import MediaService
from mediagen.application.settings import BackendSettings, Settings, StoreSettings
from mediagen.container import SANDBOX_KEY, SANDBOX_POLL_INTERVAL, Container, backend_options
from mediagen.domain.errors import AuthenticationFailed, ConfigurationError
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions
from mediagen.testing import FakeGenerator, StaticCredentials, fake_plugin, fake_spec

ACME = attrs.evolve(fake_spec("acme"), base_url_env_vars=("ACME_BASE_URL",))
REAL_KEY = "sk-real-key-from-the-environment-0123456789"
#: Nothing listens on the discard port: a client sent here would fail to connect.
DEAD_URL = "http://127.0.0.1:9/v1"


@attrs.frozen
class Place:
    work: Path
    data: Path


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Place:
    """A clean process environment: cwd, user data and config dirs in tmp; no mediagen settings or keys."""
    for name in list(os.environ):
        if name.startswith("MEDIAGEN_") or name.endswith(("_API_KEY", "_BASE_URL")):
            monkeypatch.delenv(name)
    work, data = tmp_path / "work", tmp_path / "data"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return Place(work, data)


@pytest.fixture
def containers() -> Iterator[list[Container]]:
    """Containers a test builds; their resources (a sandbox) are shut down afterwards even on failure."""
    made: list[Container] = []
    yield made
    for container in made:
        container.shutdown_resources()


def build(containers: list[Container], settings: Settings, *plugins: object) -> Container:
    container = Container(settings=providers.Object(settings))
    if plugins:
        container.plugins.override(providers.Object(list(plugins)))
    containers.append(container)
    return container


def fox(**kwargs: Any) -> MediaRequest:
    return MediaRequest(**{"media_type": MediaType.IMAGE, "prompt": "a red fox", **kwargs})


# -- the store ----------------------------------------------------------------------------------------------------


async def test_the_default_store_is_sqlite_under_the_user_data_dir_and_survives_a_new_container(
    place: Place, containers: list[Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_API_KEY", "k")
    first = build(containers, Settings(), fake_plugin(ACME))
    store = first.store()
    assert isinstance(store, SqliteStore)
    assert store.path == place.data / "mediagen" / "continuations.sqlite3"
    async with first.service() as service:
        made = await service.generate(fox())
    assert store.path.is_file() and made.continuation_id is not None
    second = build(containers, Settings(), fake_plugin(ACME))
    async with second.service() as service:
        again = await service.generate(fox(prompt="at night", continue_from=made.continuation_id))
    assert again.backend == "acme"


def test_a_configured_sqlite_path_is_used(place: Place, containers: list[Container]) -> None:
    path = place.work / "state" / "jobs.sqlite3"
    store = build(containers, Settings(store=StoreSettings(path=path))).store()
    assert isinstance(store, SqliteStore) and store.path == path


def test_sandbox_runs_keep_their_own_sqlite_file(place: Place, containers: list[Container]) -> None:
    store = build(containers, Settings(sandbox=True)).store()
    assert isinstance(store, SqliteStore)
    assert store.path == place.data / "mediagen" / "sandbox" / "continuations.sqlite3"


def test_the_memory_store_is_one_setting_away(place: Place, containers: list[Container]) -> None:
    store = build(containers, Settings(store=StoreSettings(kind="memory", max_items=7, ttl_seconds=60))).store()
    assert isinstance(store, MemoryStore)
    assert store.max_items == 7 and store.ttl_seconds == 60


def test_the_store_kind_comes_from_the_environment_when_nothing_is_overridden(
    place: Place, containers: list[Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIAGEN_STORE__KIND", "memory")
    container = Container()
    containers.append(container)
    assert isinstance(container.store(), MemoryStore)


def test_the_redis_store_is_built_from_the_configured_url(place: Place, containers: list[Container]) -> None:
    settings = Settings(store=StoreSettings(kind="redis", url="redis://127.0.0.1:1/0", ttl_seconds=120))
    store = build(containers, settings).store()
    assert isinstance(store, RedisStore) and store.ttl_seconds == 120  # no connection until first use


async def test_an_overriding_store_is_what_the_service_uses(
    place: Place, containers: list[Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several workers sharing one Redis: a continuation made through one container continues through another."""
    monkeypatch.setenv("ACME_API_KEY", "k")
    client = fakeredis.FakeAsyncRedis()
    continuation_id = None
    for prompt in ("a red fox", "at night"):
        container = build(containers, Settings(), fake_plugin(ACME))
        container.store.override(providers.Object(RedisStore(client)))
        async with container.service() as service:
            made = await service.generate(fox(prompt=prompt, continue_from=continuation_id))
        continuation_id = made.continuation_id
        assert continuation_id is not None
    assert await client.keys("mediagen:c:*")
    assert not (place.data / "mediagen").exists()  # the default SQLite file was never made
    await client.aclose()


# -- overriding a generator and the credentials -------------------------------------------------------------------


async def test_a_fake_plugin_replaces_the_installed_backends(place: Place, containers: list[Container]) -> None:
    generator = FakeGenerator(ACME)
    container = build(containers, Settings(output_dir=place.work / "renders"), fake_plugin(ACME, generator))
    container.credentials.override(providers.Object(StaticCredentials({"acme": "from-the-vault"})))
    async with container.service() as service:
        assert isinstance(service, MediaService)
        assert [spec.name for spec in container.registry().specs] == ["acme"]
        made = await service.generate(fox())
    assert made.backend == "acme" and made.path.parent == (place.work / "renders").resolve()
    assert generator.calls[0][1].credentials == Secret("from-the-vault")
    assert generator.closed  # the service closed what the registry built
    assert container.sandbox() is None  # no sandbox unless asked for


def test_by_default_keys_come_from_the_environment(
    place: Place, containers: list[Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    container = build(containers, Settings(), fake_plugin(ACME))
    credentials = container.credentials()
    assert isinstance(credentials, EnvCredentialSource)
    assert credentials.get(ACME) is None
    monkeypatch.setenv("ACME_API_KEY", "k-1")
    assert credentials.get(ACME) == Secret("k-1")


# -- backend options ----------------------------------------------------------------------------------------------


def test_the_settings_base_url_wins_over_the_spec_s_env_var() -> None:
    plugins = [fake_plugin(ACME)]
    env = {"ACME_BASE_URL": " http://127.0.0.1:2222/v1 "}
    configured = Settings(backends={"acme": BackendSettings(base_url="http://127.0.0.1:1111/v1", extra={"a": 1})})
    assert backend_options(configured, plugins, environ=env)["acme"] == BackendOptions(
        base_url="http://127.0.0.1:1111/v1", extra={"a": 1}
    )
    assert backend_options(Settings(), plugins, environ=env)["acme"].base_url == "http://127.0.0.1:2222/v1"
    assert backend_options(Settings(), plugins, environ={"ACME_BASE_URL": "  "})["acme"].base_url is None
    assert backend_options(Settings(), plugins, environ={})["acme"] == BackendOptions()


def test_a_spec_s_extra_env_vars_fill_extras_the_settings_leave_unset() -> None:
    spec = attrs.evolve(ACME, extra_env_vars={"organization": "ACME_ORG", "project": "ACME_PROJECT"})
    env = {"ACME_ORG": " org-env ", "ACME_PROJECT": "proj-env"}
    assert backend_options(Settings(), [fake_plugin(spec)], environ=env)["acme"].extra == {
        "organization": "org-env",
        "project": "proj-env",
    }
    configured = Settings(backends={"acme": BackendSettings(extra={"organization": "org-set", "a": 1})})
    assert backend_options(configured, [fake_plugin(spec)], environ=env)["acme"].extra == {
        "organization": "org-set",
        "project": "proj-env",
        "a": 1,
    }
    assert backend_options(Settings(), [fake_plugin(spec)], environ={"ACME_ORG": " "})["acme"].extra == {}


def test_the_container_reads_the_built_in_backends_base_url_variables(
    place: Place, containers: list[Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:3333/v1")
    assert build(containers, Settings()).options()["openai"].base_url == "http://127.0.0.1:3333/v1"
    pinned = Settings(backends={"openai": BackendSettings(base_url="http://127.0.0.1:4444/v1")})
    assert build(containers, pinned).options()["openai"].base_url == "http://127.0.0.1:4444/v1"
    monkeypatch.setenv("OPENAI_ORG_ID", "org-from-env")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_from_env")
    assert build(containers, Settings()).options()["openai"].extra == {
        "organization": "org-from-env",
        "project": "proj_from_env",
    }


# -- sandbox mode -------------------------------------------------------------------------------------------------


def sandboxed(place: Place, monkeypatch: pytest.MonkeyPatch, **options: object) -> Settings:
    """Sandbox settings, with real-looking keys and dead endpoints in the environment that must be ignored."""
    for name in ("OPENAI_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY", "ACME_API_KEY"):
        monkeypatch.setenv(name, REAL_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", DEAD_URL)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", DEAD_URL)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-real")
    monkeypatch.setenv("OPENAI_CUSTOM_HEADERS", f"Authorization: Bearer {REAL_KEY}")
    return Settings(sandbox=True, sandbox_options={"job_polls": 1, **options}, output_dir=place.work)


def test_sandbox_mode_gives_each_faked_backend_a_dummy_key_and_the_fake_s_url(
    place: Place, containers: list[Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    container = build(containers, sandboxed(place, monkeypatch))
    sandbox = container.sandbox()
    assert sandbox is not None and set(sandbox.vendors) >= {"openai", "google"}
    credentials, options = container.credentials(), container.options()
    for spec in container.registry().specs:
        if spec.name in sandbox.vendors:
            assert credentials.get(spec) == Secret(SANDBOX_KEY), spec.name
            assert options[spec.name].base_url == sandbox.base_url(spec.name)
            base_url = options[spec.name].base_url or ""
            # an HTTP fake's base URL is a URL; a gRPC fake's (xAI's) is the host:port its SDK takes
            assert urlsplit(base_url if "//" in base_url else f"//{base_url}").hostname == "127.0.0.1"
            assert not spec.extra_env_vars.keys() & options[spec.name].extra.keys(), spec.name
            # Jobs are polled at the sandbox's pace throughout: backoff never climbs to a vendor's 30 s.
            extra = options[spec.name].extra
            assert extra["poll_interval"] == extra["poll_max_interval"] == SANDBOX_POLL_INTERVAL, spec.name


def test_sandbox_mode_never_hands_a_real_key_or_url_to_a_backend_it_does_not_fake(
    place: Place, containers: list[Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = attrs.evolve(
        sandboxed(place, monkeypatch), backends={"acme": BackendSettings(base_url="http://127.0.0.1:5555/v1")}
    )
    container = build(containers, settings, fake_plugin(ACME))
    assert container.credentials().get(ACME) is None
    assert container.options()["acme"].base_url is None


async def test_a_sandboxed_generation_uses_the_dummy_key_and_the_fake_not_the_environment(
    place: Place, containers: list[Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fake accepts only the dummy key, and the environment's URL leads nowhere: success proves neither was used."""
    container = build(containers, sandboxed(place, monkeypatch, api_key=SANDBOX_KEY))
    async with container.service() as service:
        made = await service.generate(fox(backend="openai"))
    assert made.backend == "openai" and made.path.is_file()
    sandbox = container.sandbox()
    assert sandbox is not None and [call.status for call in sandbox.calls("openai")] == [200]


async def test_the_sandbox_refuses_any_other_key(
    place: Place, containers: list[Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contrast that makes the test above mean something: the fake does check the key."""
    container = build(containers, sandboxed(place, monkeypatch, api_key="only-this-key"))
    async with container.service() as service:
        with pytest.raises(AuthenticationFailed) as caught:
            await service.generate(fox(backend="openai"))
    assert REAL_KEY not in str(caught.value) and SANDBOX_KEY not in str(caught.value)


def test_shutting_the_container_down_stops_the_sandbox(
    place: Place, containers: list[Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    container = build(containers, sandboxed(place, monkeypatch))
    sandbox = container.sandbox()
    assert sandbox is not None
    origin = urlsplit(sandbox.origin("openai"))
    address = (origin.hostname or "", origin.port or 0)
    with socket.create_connection(address, timeout=5):
        pass
    container.shutdown_resources()
    assert not sandbox.sandbox.running
    with pytest.raises(ConnectionRefusedError), socket.create_connection(address, timeout=5):
        pass


def test_a_bad_sandbox_option_is_a_configuration_error_naming_it(place: Place, containers: list[Container]) -> None:
    container = build(containers, Settings(sandbox=True, sandbox_options={"latencyy": 1}))
    with pytest.raises(ConfigurationError) as caught:
        container.sandbox()
    assert caught.value.key == "sandbox_options" and "latencyy" in caught.value.message


@pytest.mark.parametrize(("text", "ttl"), [("none", None), ("3600", 3600.0)])
def test_the_sandbox_state_ttl_is_read_from_the_environment(
    place: Place, containers: list[Container], monkeypatch: pytest.MonkeyPatch, text: str, ttl: float | None
) -> None:
    from mediagen.application.settings import load_settings

    monkeypatch.setenv("MEDIAGEN_SANDBOX_OPTIONS__STATE_TTL_SECONDS", text)
    sandbox = build(containers, load_settings(overrides={"sandbox": True})).sandbox()
    assert sandbox is not None
    assert sandbox.sandbox.settings.state_ttl_seconds == ttl
    assert sandbox.sandbox.settings.state_dir == place.data / "mediagen" / "sandbox"


def test_a_state_ttl_that_is_not_positive_is_a_configuration_error_naming_it(
    place: Place, containers: list[Container]
) -> None:
    container = build(containers, Settings(sandbox=True, sandbox_options={"state_ttl_seconds": 0}))
    with pytest.raises(ConfigurationError) as caught:
        container.sandbox()
    assert caught.value.key == "sandbox_options" and "state_ttl_seconds must be > 0" in caught.value.message


def test_a_sandbox_option_of_the_wrong_shape_is_refused_naming_the_key_and_the_file(place: Place) -> None:
    from mediagen.application.settings import load_settings

    (place.work / "mediagen.toml").write_text("[sandbox_options]\nlatency = { seconds = 1 }\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert caught.value.key == "sandbox_options.latency"
    assert caught.value.source is not None and caught.value.source.endswith("mediagen.toml")
    assert "expected text, a number or a list of text" in caught.value.message


# -- the same service without dependency_injector ------------------------------------------------------------------


def without_urls(options: dict[str, BackendOptions]) -> dict[str, BackendOptions]:
    return {name: attrs.evolve(option, base_url=None) for name, option in options.items()}


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param(lambda work: Settings(), id="defaults"),
        pytest.param(lambda work: Settings(store=StoreSettings(kind="memory"), output_dir=work / "out"), id="memory"),
        pytest.param(lambda work: Settings(store=StoreSettings(path=work / "jobs.sqlite3")), id="sqlite-path"),
        pytest.param(lambda work: Settings(store=StoreSettings(kind="memory"), sandbox=True), id="sandbox"),
    ],
)
def test_an_assembly_builds_what_the_container_builds(
    settings: Any, place: Place, containers: list[Container], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`open_service()` without a container uses an Assembly: one attribute per provider of the container, of the
    same kind and with the same configuration."""
    from mediagen.composition import Assembly

    monkeypatch.setenv("OPENAI_API_KEY", REAL_KEY)
    chosen = settings(place.work)
    container = build(containers, chosen)
    assembly = Assembly(chosen)
    try:
        names = set(container.providers)
        assert names == {name for name in vars(assembly) if not name.startswith("_")}
        for name in names:
            assert type(getattr(assembly, name)) is type(container.providers[name]()), name
        assert without_urls(assembly.options) == without_urls(container.options())
        for name, options in assembly.options.items():  # each points at its own sandbox's fakes, if it has one
            own = assembly.sandbox.base_url(name) if assembly.sandbox else container.options()[name].base_url
            assert options.base_url == own
        assert [p.spec.name for p in assembly.plugins] == [p.spec.name for p in container.plugins()]
        specs = [plugin.spec for plugin in assembly.plugins]
        assert [assembly.credentials.get(s) for s in specs] == [container.credentials().get(s) for s in specs]
        if isinstance(assembly.store, SqliteStore):
            assert assembly.store.path == container.store().path
        assert assembly.selector.available() == container.selector().available()
    finally:
        assembly.shutdown_resources()
